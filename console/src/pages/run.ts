/**
 * One run: its graph (every step of the definition, started or not, coloured live), a timeline of step attempts,
 * the selected step's details (parameters as resolved, output with a download when cut, error and code, attempts,
 * logs, its task's trace), the run's trace (linked to the trace UI when one is configured), and the actions on the run
 * (cancel, run again), each confirmed first.
 */
import type { VNode } from '../vendor/preact.js';
import { useEffect, useState } from '../vendor/hooks.js';
import type { StreamEvent } from '../api.js';
import { ApiError, command, follow, get } from '../api.js';
import type { TraceRef } from '../ui.js';
import {
  ErrorBox,
  Json,
  Link,
  StatusBadge,
  TraceLink,
  confirmAction,
  fmtDuration,
  fmtTime,
  html,
  navigate,
  useCommands,
  useLoad,
} from '../ui.js';
import { Graph } from './graph.js';
import type { Definition, Run, Step } from './runTypes.js';
import { runLink, text } from './runTypes.js';
import { StepDetails } from './step.js';

/** The second line of a step's node: what it runs, and a forEach step's item counts. */
function nodeDetail(s: Definition['steps'][number], result: Step | undefined): string {
  if (result?.items) {
    const done = result.items.filter((i) => i.status === 'completed').length;
    const failed = result.items.filter((i) => ['failed', 'timed_out', 'cancelled'].includes(i.status)).length;
    return `${done}/${result.items.length} items${failed ? `, ${failed} failed` : ''}`;
  }
  if (s.workflow) return `→ ${s.workflow}`;
  if (s.waitFor) return 'waits for a signal';
  return s.module ? `${s.module}.${s.action ?? ''}` : '';
}

const STEP_STATUS: Record<string, string> = {
  step_started: 'running',
  step_completed: 'completed',
  step_skipped: 'skipped',
  step_waiting: 'waiting',
};

function Timeline(props: { run: Run; order: string[] }): VNode {
  const { run } = props;
  const start = run.startedAt;
  const end = Math.max(run.endedAt ?? Date.now(), start + 1);
  const span = end - start;
  const rows = props.order.map((n) => run.steps[n]).filter((s): s is Step => !!s && s.startedAt !== null);
  return html`<div class="timeline" data-testid="timeline">
    ${rows.map((s) => {
      const left = ((s.startedAt! - start) / span) * 100;
      const width = Math.max(0.5, (((s.endedAt ?? Date.now()) - s.startedAt!) / span) * 100);
      return html`<div class="tl-row" key=${s.step}>
        <span class="tl-name">${s.step}</span>
        <span class="tl-track"><span class=${`tl-bar s-${s.status}`} style=${{ left: `${left}%`, width: `${Math.min(width, 100 - left)}%` }} title=${`${s.step}: ${fmtDuration(s.durationMs)}`}></span></span>
      </div>`;
    })}
  </div>`;
}

export function RunPage(props: { runId: string }): VNode {
  const { runId } = props;
  const [tick, setTick] = useState(0);
  const [selected, setSelected] = useState<string | null>(null);
  const [live, setLive] = useState<Record<string, string>>({});
  const [events, setEvents] = useState<StreamEvent[]>([]);
  const commands = useCommands();
  const data = useLoad(
    () => get<{ run: Run; workflow: Definition | null; trace?: TraceRef | null }>(`runs/${encodeURIComponent(runId)}`),
    [runId, tick],
  );
  const history = useLoad(() => get<{ events: StreamEvent[] }>(`runs/${encodeURIComponent(runId)}/history`), [runId]);

  useEffect(() => {
    setLive({});
    setEvents([]);
    let timer: ReturnType<typeof setTimeout> | null = null;
    const stop = follow({ runId }, (e) => {
      const step = e.data['step'];
      if (typeof step === 'string' && e.type.startsWith('step_')) {
        const status = STEP_STATUS[e.type] ?? text(e.data['status'] ?? 'failed');
        setLive((l) => ({ ...l, [step]: status }));
      }
      setEvents((list) => (list.length > 5000 ? list : [...list, e]));
      timer ??= setTimeout(() => {
        timer = null;
        setTick((t) => t + 1);
      }, 300);
    });
    return () => {
      stop();
      if (timer) clearTimeout(timer);
    };
  }, [runId]);

  if (data.error) {
    const notFound = data.error instanceof ApiError && data.error.status === 404;
    return html`<section class="not-found" data-testid="not-found">
      <h2>${notFound ? 'Run not found' : 'Could not load the run'}</h2>
      <${ErrorBox} error=${data.error} />
      <p><${Link} href="/runs">← Back to runs</${Link}></p>
    </section>`;
  }
  if (!data.value) return html`<p class="dim">Loading…</p>`;
  const { run, workflow, trace } = data.value;
  const steps: Definition['steps'] = workflow?.steps ?? Object.keys(run.steps).map((name) => ({ name }));
  const stepsWithLive = (name: string): string => {
    const stored = run.steps[name]?.status;
    const l = live[name];
    if (stored && ['completed', 'failed', 'timed_out', 'cancelled', 'skipped'].includes(stored)) return stored;
    return l ?? stored ?? 'not_started';
  };
  const seen = new Set<number>();
  const allEvents = [...(history.value?.events ?? []), ...events].filter((e) =>
    seen.has(e.seq) ? false : (seen.add(e.seq), true),
  );
  const cancel = (): void =>
    confirmAction({
      title: `Cancel run ${run.runId.slice(0, 8)}?`,
      body: html`<p>Running steps are cancelled; steps not started are skipped.</p>`,
      confirmLabel: 'Cancel run',
      run: () => command('workflow.cancel_run', { runId: run.runId, reason: 'cancelled from the console' }),
      done: () => setTick((t) => t + 1),
    });
  const retry = (): void =>
    confirmAction({
      title: `Retry run ${run.runId.slice(0, 8)}?`,
      body: html`<p>A new run keeps the outputs of the steps that completed and runs the others again.</p>`,
      confirmLabel: 'Retry',
      closeOnDone: true,
      run: () => command<{ runId: string }>('workflow.retry', { runId: run.runId }),
      done: (v) => navigate(runLink((v as { runId: string }).runId)),
    });
  const rerun = (): void =>
    confirmAction({
      title: `Run ${run.workflowName} again?`,
      body: html`<p>Starts a new run of version ${run.version} with the same parameters:</p><${Json} value=${run.params} />`,
      confirmLabel: 'Start run',
      run: () =>
        command<{ runId: string }>('workflow.start', {
          name: run.workflowName,
          version: run.version,
          params: run.params,
          ...(run.sessionId ? { sessionId: run.sessionId } : {}),
        }),
      closeOnDone: true,
      done: (v) => navigate(`/runs/${encodeURIComponent((v as { runId: string }).runId)}`),
    });

  return html`<section class="run">
    <header class="page-head">
      <h2><${Link} href=${`/workflows/${encodeURIComponent(run.workflowName)}`}>${run.workflowName}</${Link}> <span class="dim">v${run.version}</span> <span class="mono" data-testid="run-id">${run.runId}</span></h2>
      <span data-testid="run-status"><${StatusBadge} status=${run.status} /></span>
      <div class="actions">
        ${run.status === 'running' ? html`<button class="danger" onClick=${cancel} data-testid="cancel">Cancel</button>` : null}
        ${(run.status === 'failed' || run.status === 'cancelled') && commands.has('workflow.retry') ? html`<button onClick=${retry} data-testid="retry">Retry</button>` : null}
        <button onClick=${rerun} data-testid="rerun">Run again</button>
      </div>
    </header>
    ${run.parentRunId ? html`<p data-testid="parent">Child of <${Link} href=${runLink(run.parentRunId)}>run ${run.parentRunId.slice(0, 8)}</${Link}>${run.parentStep ? ` (step ${run.parentStep})` : ''}</p>` : null}
    ${run.retryOf ? html`<p>Retry of <${Link} href=${runLink(run.retryOf)}>run ${run.retryOf.slice(0, 8)}</${Link}></p>` : null}
    ${run.scheduleName ? html`<p class="dim">Started by the schedule ${run.scheduleName}${run.scheduledFor ? ` for ${fmtTime(run.scheduledFor)}` : ''}</p>` : null}
    ${
      run.queued
        ? html`<p class="panel" data-testid="held">Waiting for the concurrency key <code>${run.queued.key}</code> since ${fmtTime(run.queued.since)}: ${run.queued.holders.length} of ${run.queued.limit} running
          (${run.queued.holders.map((h, i) => html`${i ? ', ' : ''}<${Link} href=${runLink(h)}>${h.slice(0, 8)}</${Link}>`)}), ${run.queued.waiting} waiting</p>`
        : null
    }
    ${run.debounce ? html`<p class="panel" data-testid="held">Debounced on <code>${run.debounce.key}</code>: starts ${fmtTime(run.debounce.until)} unless another request with this key comes first (${run.debounce.submissions} so far since ${fmtTime(run.debounce.first)})</p>` : null}
    <p class="dim">Started ${fmtTime(run.startedAt)} · ${run.endedAt ? `ended ${fmtTime(run.endedAt)} · ${fmtDuration(run.durationMs)}` : 'running'}${run.sessionId ? ` · session ${run.sessionId}` : ''}${trace ? html` · trace <${TraceLink} trace=${trace} testid="run-trace" />` : null}</p>
    <div class="run-body">
      <div class="run-main">
        <${Graph}
          steps=${steps.map((s) => ({ name: s.name, dependencies: s.dependencies ?? [], detail: nodeDetail(s, run.steps[s.name]) }))}
          status=${stepsWithLive}
          selected=${selected}
          onSelect=${setSelected}
        />
        <h3>Timeline</h3>
        <${Timeline} run=${run} order=${steps.map((s) => s.name)} />
      </div>
      ${selected ? html`<${StepDetails} run=${run} def=${workflow} name=${selected} history=${allEvents} commands=${commands} reload=${() => setTick((t) => t + 1)} />` : html`<aside class="step-details dim">Select a step to see its parameters, output, attempts and logs.</aside>`}
    </div>
  </section>`;
}
