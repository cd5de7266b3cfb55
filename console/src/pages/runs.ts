/**
 * Runs: newest first, filtered by workflow, status and start time, paged with a cursor (the last run of the page,
 * so a page costs the same at run 100 000 as at run 1), live: a run that starts or ends reloads the first page.
 */
import type { VNode } from '../vendor/preact.js';
import { useEffect, useRef, useState } from '../vendor/hooks.js';
import { command, follow, get } from '../api.js';
import {
  ErrorBox,
  Link,
  StatusBadge,
  fmtDuration,
  fmtTime,
  html,
  navigate,
  useCommands,
  useLoad,
  useRoute,
} from '../ui.js';

interface RunSummary {
  runId: string;
  workflowName: string;
  version: string;
  status: string;
  startedAt: number;
  endedAt: number | null;
  durationMs: number;
  steps: Record<string, number>;
}

const STATUSES = ['', 'running', 'succeeded', 'failed', 'cancelled'];
const LIVE_TYPES = ['workflow_started', 'workflow_completed', 'step_completed', 'step_failed'];

/** `datetime-local` value to epoch ms (local time), or undefined. */
function localMs(v: string | null): string | undefined {
  if (!v) return undefined;
  const t = new Date(v).getTime();
  return Number.isFinite(t) ? String(t) : undefined;
}

export function RunsPage(): VNode {
  const { query } = useRoute();
  const workflow = query.get('workflow') ?? '';
  const status = query.get('status') ?? '';
  const from = query.get('from') ?? '';
  const to = query.get('to') ?? '';
  const after = query.get('after') ?? '';
  const schedule = query.get('schedule') ?? '';
  const commands = useCommands();
  const [tick, setTick] = useState(0);
  const [live, setLive] = useState(false);
  const pages = useRef<string[]>([]);
  const key = `${workflow}|${status}|${from}|${to}|${after}|${schedule}|${tick}`;
  const runs = useLoad(() => {
    const p = new URLSearchParams({ limit: '50' });
    if (workflow) p.set('workflow', workflow);
    if (status) p.set('status', status);
    const f = localMs(from);
    const t = localMs(to);
    if (f) p.set('from', f);
    if (t) p.set('to', t);
    if (after) p.set('after', after);
    if (schedule) p.set('schedule', schedule);
    return get<{ runs: RunSummary[]; next: string | null }>(`runs?${p.toString()}`);
  }, [key]);
  const workflows = useLoad(() => get<{ name: string }[]>('workflows'), []);
  const schedules = useLoad(
    () => (commands.has('schedule.list') ? command<{ name: string }[]>('schedule.list', {}) : Promise.resolve([])),
    [commands.size],
  );

  // Live: the first page reloads (at most twice a second) when runs start or end.
  useEffect(() => {
    if (after) return;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const stop = follow(
      { types: LIVE_TYPES },
      () => {
        timer ??= setTimeout(() => {
          timer = null;
          setTick((t) => t + 1);
        }, 500);
      },
      setLive,
    );
    return () => {
      stop();
      if (timer) clearTimeout(timer);
    };
  }, [after, workflow, status, from, to, schedule]);

  const setFilter = (name: string, value: string): void => {
    const p = new URLSearchParams(location.search);
    if (value) p.set(name, value);
    else p.delete(name);
    p.delete('after');
    pages.current = [];
    navigate(`/runs${p.size ? `?${p.toString()}` : ''}`);
  };
  const page = (cursor: string | null): void => {
    const p = new URLSearchParams(location.search);
    if (cursor) {
      pages.current.push(after);
      p.set('after', cursor);
    } else {
      const prev = pages.current.pop();
      if (prev) p.set('after', prev);
      else p.delete('after');
    }
    navigate(`/runs?${p.toString()}`);
  };

  return html`<section>
    <header class="page-head">
      <h2>Runs</h2>
      <span class=${live ? 'live on' : 'live'} data-testid="live">${live ? 'live' : 'connecting…'}</span>
    </header>
    <form class="filters" onSubmit=${(e: Event) => e.preventDefault()}>
      <label>Workflow
        <select name="workflow" value=${workflow} onChange=${(e: Event) => setFilter('workflow', (e.target as HTMLSelectElement).value)}>
          <option value="">all</option>
          ${(workflows.value ?? []).map((w) => html`<option value=${w.name}>${w.name}</option>`)}
        </select>
      </label>
      <label>Status
        <select name="status" value=${status} onChange=${(e: Event) => setFilter('status', (e.target as HTMLSelectElement).value)}>
          ${STATUSES.map((s) => html`<option value=${s}>${s || 'all'}</option>`)}
        </select>
      </label>
      ${
        commands.has('schedule.list')
          ? html`<label>Schedule
            <select name="schedule" value=${schedule} onChange=${(e: Event) => setFilter('schedule', (e.target as HTMLSelectElement).value)}>
              <option value="">any</option>
              ${(schedules.value ?? []).map((s) => html`<option value=${s.name}>${s.name}</option>`)}
            </select>
          </label>`
          : null
      }
      <label>From <input type="datetime-local" name="from" value=${from} onChange=${(e: Event) => setFilter('from', (e.target as HTMLInputElement).value)} /></label>
      <label>To <input type="datetime-local" name="to" value=${to} onChange=${(e: Event) => setFilter('to', (e.target as HTMLInputElement).value)} /></label>
    </form>
    ${runs.error ? html`<${ErrorBox} error=${runs.error} />` : null}
    <div class="table-wrap">
      <table class="runs" data-testid="runs">
        <thead><tr><th>Run</th><th>Workflow</th><th>Status</th><th>Steps</th><th>Started</th><th>Duration</th></tr></thead>
        <tbody>
          ${(runs.value?.runs ?? []).map(
            (r) => html`<tr key=${r.runId} data-run=${r.runId}>
              <td class="mono"><${Link} href=${`/runs/${encodeURIComponent(r.runId)}`}>${r.runId.slice(0, 8)}</${Link}></td>
              <td>${r.workflowName} <span class="dim">v${r.version}</span></td>
              <td><${StatusBadge} status=${r.status} /></td>
              <td class="counts">${Object.entries(r.steps).map(([s, n]) => html`<span class=${`count s-${s}`} title=${s}>${n}</span>`)}</td>
              <td>${fmtTime(r.startedAt)}</td>
              <td>${r.status === 'running' ? fmtDuration(Date.now() - r.startedAt) : fmtDuration(r.durationMs)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${runs.value && runs.value.runs.length === 0 ? html`<p class="empty">No runs match.</p>` : null}
    </div>
    <nav class="pager">
      <button disabled=${!after} onClick=${() => page(null)}>← Newer</button>
      <button disabled=${!runs.value?.next} onClick=${() => page(runs.value?.next ?? null)} data-testid="older">Older →</button>
    </nav>
  </section>`;
}
