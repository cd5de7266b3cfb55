/**
 * Schedules (when the daemon has them): each schedule's workflow, cron or interval and zone, its next fire times and
 * last runs, and pause / resume / trigger now, each confirmed first.
 */
import type { VNode } from '../vendor/preact.js';
import { useEffect } from '../vendor/hooks.js';
import { command } from '../api.js';
import { ErrorBox, Link, StatusBadge, confirmAction, fmtTime, html, navigate, useLoad } from '../ui.js';

interface ScheduleView {
  name: string;
  workflow: string;
  cron: string | null;
  everyMs: number | null;
  timezone: string;
  paused: boolean;
  nextFireTimes: string[];
  lastRuns: { runId: string; scheduledFor: number | null; status: string }[];
}

export function SchedulesPage(): VNode {
  const list = useLoad(() => command<ScheduleView[]>('schedule.list', {}), []);
  useEffect(() => {
    const t = setInterval(list.reload, 5000);
    return () => clearInterval(t);
  }, []);
  const act = (verb: 'pause' | 'resume' | 'trigger', name: string): void =>
    confirmAction({
      title: `${verb === 'trigger' ? 'Trigger' : verb === 'pause' ? 'Pause' : 'Resume'} the schedule ${name}?`,
      body: verb === 'trigger' ? html`<p>Starts one run now, outside the schedule's slots.</p>` : null,
      confirmLabel: verb === 'trigger' ? 'Start run' : verb === 'pause' ? 'Pause' : 'Resume',
      closeOnDone: verb === 'trigger',
      run: () => command(`schedule.${verb}`, { name }),
      done: (v) =>
        verb === 'trigger' ? navigate(`/runs/${encodeURIComponent((v as { runId: string }).runId)}`) : list.reload(),
    });
  return html`<section>
    <header class="page-head"><h2>Schedules</h2></header>
    ${list.error ? html`<${ErrorBox} error=${list.error} />` : null}
    <div class="table-wrap"><table data-testid="schedules"><thead><tr><th>Schedule</th><th>Workflow</th><th>When</th><th>Next</th><th>Last runs</th><th></th></tr></thead>
      <tbody>${(list.value ?? []).map(
        (s) => html`<tr key=${s.name}>
          <td>${s.name} ${s.paused ? html`<${StatusBadge} status="paused" />` : null}</td>
          <td><${Link} href=${`/workflows/${encodeURIComponent(s.workflow)}`}>${s.workflow}</${Link}></td>
          <td>${s.cron ? html`<code>${s.cron}</code>` : `every ${Math.round((s.everyMs ?? 0) / 1000)} s`} <span class="dim">${s.timezone}</span></td>
          <td>${s.nextFireTimes.slice(0, 3).map((t) => html`<div>${fmtTime(Date.parse(t))}</div>`)}</td>
          <td>${s.lastRuns.slice(0, 3).map((r) => html`<div><${Link} href=${`/runs/${encodeURIComponent(r.runId)}`}>${r.runId.slice(0, 8)}</${Link}> <${StatusBadge} status=${r.status} /></div>`)}</td>
          <td class="row-actions">
            ${s.paused ? html`<button onClick=${() => act('resume', s.name)}>Resume</button>` : html`<button onClick=${() => act('pause', s.name)}>Pause</button>`}
            <button onClick=${() => act('trigger', s.name)}>Trigger now</button>
            <${Link} href=${`/runs?schedule=${encodeURIComponent(s.name)}`}>runs</${Link}>
          </td>
        </tr>`,
      )}</tbody></table></div>
    ${list.value && list.value.length === 0 ? html`<p class="empty">No schedules (create one with <code>codomyrmex schedule create</code>).</p>` : null}
  </section>`;
}
