/**
 * One run: its graph (every step of the definition, started or not, coloured live), a timeline of step attempts,
 * the selected step's details (parameters as resolved, output with a download when cut, error and code, attempts,
 * logs, its task's trace), the run's trace (linked to the trace UI when one is configured), and the actions on the run
 * (cancel, run again), each confirmed first.
 */
import type { VNode } from '../vendor/preact.js';
import { useEffect, useState } from '../vendor/hooks.js';
import type { StreamEvent } from '../api.js';
import { ApiError, command, follow, get, getToken } from '../api.js';
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

interface Item {
  index: number;
  status: string;
  durationMs: number | null;
  childRunId?: string;
  error: { code: string; message: string } | null;
}

interface Step {
  step: string;
  items?: Item[];
  childRunId?: string;
  waiting?: { signal: string | null; until: number | null; since: number };
  reused?: boolean;
  reusedFrom?: string;
  taskId: string;
  status: string;
  result: unknown;
  error: { code: string; message: string } | null;
  attempts: number;
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  outputTruncated?: boolean;
  outputBytes?: number;
  artifacts?: Artifact[];
}

/** A file a step stored for the steps after it (`ctx.artifacts.put`). */
interface Artifact {
  name: string;
  file: string;
  size: number;
  digest: string;
}

interface Run {
  runId: string;
  workflowName: string;
  version: string;
  status: string;
  params: Record<string, unknown>;
  startedAt: number;
  endedAt: number | null;
  durationMs: number;
  sessionId: string | null;
  steps: Record<string, Step>;
  parentRunId?: string | null;
  parentStep?: string | null;
  retryOf?: string | null;
  scheduleName?: string;
  scheduledFor?: number;
  queued?: { key: string; limit: number; holders: string[]; waiting: number; since: number };
  debounce?: { key: string; until: number; first: number; submissions: number };
}

interface Definition {
  name: string;
  version: string;
  steps: {
    name: string;
    module?: string;
    action?: string;
    workflow?: string;
    forEach?: unknown;
    waitFor?: unknown;
    dependencies?: string[];
  }[];
}

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

const runLink = (id: string): string => `/runs/${encodeURIComponent(id)}`;

/** A value of an event as text (objects as JSON). */
function text(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined ? '' : (JSON.stringify(v) ?? '');
}

const STEP_STATUS: Record<string, string> = {
  step_started: 'running',
  step_completed: 'completed',
  step_skipped: 'skipped',
  step_waiting: 'waiting',
};

async function download(runId: string, step: string): Promise<void> {
  const token = getToken();
  const res = await fetch(`/api/v1/runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(step)}/output`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (!res.ok) throw new ApiError(`download failed: HTTP ${res.status}`, res.status, 'INTERNAL');
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `${runId}.${step}.output.json`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A size for people, in the browser's own units: `812 byte`, `12.3 kB`, `4.1 MB`. */
const sizeUnits = (['byte', 'kilobyte', 'megabyte', 'gigabyte'] as const).map(
  (unit) => new Intl.NumberFormat(undefined, { style: 'unit', unit, unitDisplay: 'short', maximumFractionDigits: 1 }),
);
function bytes(n: number): string {
  const step = Math.min(sizeUnits.length - 1, n <= 0 ? 0 : Math.floor(Math.log(n) / Math.log(1000)));
  return (sizeUnits[step] as Intl.NumberFormat).format(n / 1000 ** step);
}

/** Saves an artifact (always as a file: the server sends it as an attachment, never as a page). */
async function downloadArtifact(runId: string, step: string, a: Artifact): Promise<void> {
  const token = getToken();
  const path = ['runs', runId, 'artifacts', step, ...a.name.split('/')].map(encodeURIComponent).join('/');
  const res = await fetch(`/api/v1/${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!res.ok) throw new ApiError(`download failed: HTTP ${res.status}`, res.status, 'INTERNAL');
  const url = URL.createObjectURL(await res.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = a.file;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Artifacts(props: { runId: string; step: string; artifacts: Artifact[] }): VNode {
  return html`<table class="artifacts" data-testid="artifacts">
    <tbody>
      ${props.artifacts.map(
        (a) => html`<tr key=${a.name}>
          <td class="mono">${a.name}</td>
          <td>${a.file}</td>
          <td>${bytes(a.size)}</td>
          <td><button onClick=${() => void downloadArtifact(props.runId, props.step, a)} data-testid="artifact-download" title=${`sha256 ${a.digest}`}>Download</button></td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

function Items(props: { items: Item[] }): VNode {
  const counts: Record<string, number> = {};
  for (const i of props.items) counts[i.status] = (counts[i.status] ?? 0) + 1;
  const shown = props.items.slice(0, 200);
  return html`<div data-testid="items">
    <p>${Object.entries(counts).map(([st, n]) => html`<span class=${`count s-${st}`}>${n} ${st}</span> `)}</p>
    <table class="items"><thead><tr><th>#</th><th>Status</th><th>Duration</th><th></th></tr></thead>
      <tbody>${shown.map(
        (
          i,
        ) => html`<tr key=${i.index}><td>${i.index}</td><td><${StatusBadge} status=${i.status} /></td><td>${fmtDuration(i.durationMs)}</td>
          <td>${i.childRunId ? html`<${Link} href=${runLink(i.childRunId)}>child run</${Link}>` : i.error ? `${i.error.code}: ${i.error.message}` : ''}</td></tr>`,
      )}</tbody></table>
    ${props.items.length > shown.length ? html`<p class="dim">first ${shown.length} of ${props.items.length} items</p>` : null}
  </div>`;
}

function SignalForm(props: { run: Run; signal: string; onDone: () => void }): VNode {
  const [payload, setPayload] = useState('{\n  "approved": true\n}');
  const [error, setError] = useState<string | null>(null);
  const send = (): void => {
    let value: unknown;
    try {
      value = payload.trim() === '' ? undefined : (JSON.parse(payload) as unknown);
      setError(null);
    } catch (err) {
      setError(`payload: not valid JSON (${(err as Error).message})`);
      return;
    }
    confirmAction({
      title: `Send "${props.signal}" to run ${props.run.runId.slice(0, 8)}?`,
      body: html`<pre class="json">${JSON.stringify(value, null, 2) ?? '(no payload)'}</pre>`,
      confirmLabel: 'Send signal',
      run: () =>
        command('workflow.signal', {
          runId: props.run.runId,
          signal: props.signal,
          ...(value === undefined ? {} : { payload: value }),
        }),
      done: props.onDone,
    });
  };
  return html`<div class="signal" data-testid="signal-form">
    <label>Payload (JSON)<textarea name="payload" rows="4" value=${payload} onInput=${(e: Event) => setPayload((e.target as HTMLTextAreaElement).value)}></textarea></label>
    ${error ? html`<div class="error">${error}</div>` : null}
    <button class="primary" onClick=${send} data-testid="send-signal">Send signal "${props.signal}"</button>
  </div>`;
}

function StepDetails(props: {
  run: Run;
  def: Definition | null;
  name: string;
  history: StreamEvent[];
  commands: Set<string>;
  reload: () => void;
}): VNode {
  const { run, name } = props;
  const s = run.steps[name];
  const defStep = props.def?.steps.find((x) => x.name === name);
  const taskId = s?.taskId ?? `${run.runId}.${name}`;
  const task = useLoad(
    () =>
      get<{ spec: { parameters: unknown }; trace?: TraceRef | null }>(`tasks/${encodeURIComponent(taskId)}`).catch(
        () => null,
      ),
    [taskId, s?.status],
  );
  const mine = props.history.filter((e) => e.data['taskId'] === taskId);
  const attempts = mine.filter(
    (e) =>
      e.type === 'task_started' ||
      e.type === 'task_retrying' ||
      e.type === 'task_completed' ||
      e.type === 'task_failed' ||
      e.type === 'task_timed_out' ||
      e.type === 'task_cancelled',
  );
  const logs = mine.filter((e) => e.type === 'task_log');
  return html`<aside class="step-details" data-testid="step-details">
    <h3>${name} <${StatusBadge} status=${s?.status ?? 'not started'} /></h3>
    <p class="dim">${defStep?.module ?? ''}.${defStep?.action ?? ''} · task <span class="mono">${taskId}</span></p>
    ${task.value?.trace ? html`<p class="dim" data-testid="task-trace">Trace <${TraceLink} trace=${task.value.trace} testid="task-trace-id" /></p>` : null}
    ${
      s
        ? html`<dl>
          <dt>Started</dt><dd>${fmtTime(s.startedAt)}</dd>
          <dt>Ended</dt><dd>${fmtTime(s.endedAt)}</dd>
          <dt>Duration</dt><dd>${fmtDuration(s.durationMs)}</dd>
          <dt>Attempts</dt><dd>${s.attempts}</dd>
        </dl>`
        : html`<p>Not started.</p>`
    }
    ${s?.childRunId ? html`<p>Sub-workflow: <${Link} href=${runLink(s.childRunId)}>child run ${s.childRunId.slice(0, 8)}</${Link}></p>` : null}
    ${s?.reused && s.reusedFrom ? html`<p class="dim">Output kept from <${Link} href=${runLink(s.reusedFrom)}>run ${s.reusedFrom.slice(0, 8)}</${Link}></p>` : null}
    ${
      s?.waiting
        ? html`<div class="panel"><strong>Waiting</strong> ${s.waiting.signal ? html`for the signal <code>${s.waiting.signal}</code>` : 'for a timer'} since ${fmtTime(s.waiting.since)}${s.waiting.until ? `, until ${fmtTime(s.waiting.until)}` : ''}
          ${s.waiting.signal && props.commands.has('workflow.signal') ? html`<${SignalForm} run=${run} signal=${s.waiting.signal} onDone=${props.reload} />` : null}</div>`
        : null
    }
    ${s?.items ? html`<h4>Items</h4><${Items} items=${s.items} />` : null}
    ${
      run.status !== 'running' && props.commands.has('workflow.retry')
        ? html`<p><button onClick=${() =>
            confirmAction({
              title: `Retry run ${run.runId.slice(0, 8)} from "${name}"?`,
              body: html`<p>A new run reuses the outputs of the steps upstream of ${name} and runs ${name} and what depends on it again.</p>`,
              confirmLabel: 'Retry from here',
              closeOnDone: true,
              run: () => command<{ runId: string }>('workflow.retry', { runId: run.runId, fromStep: name }),
              done: (v) => navigate(runLink((v as { runId: string }).runId)),
            })} data-testid="retry-from-step">Retry from this step</button></p>`
        : null
    }
    ${s?.error ? html`<div class="error" data-testid="step-error"><strong class="mono">${s.error.code}</strong> ${s.error.message}</div>` : null}
    <h4>Parameters (resolved)</h4>
    ${task.value ? html`<${Json} value=${task.value.spec.parameters} />` : html`<p class="dim">${s ? 'not available' : 'resolved when the step starts'}</p>`}
    <h4>Output</h4>
    ${
      s && s.status === 'completed'
        ? html`${s.outputTruncated ? html`<p class="dim">Output is ${s.outputBytes} bytes; the first part is shown.</p>` : null}
          <pre class="json" data-testid="step-output">${typeof s.result === 'string' && s.outputTruncated ? s.result : JSON.stringify(s.result, null, 2)}</pre>
          <button onClick=${() => void download(run.runId, name)} data-testid="download">Download output</button>`
        : html`<p class="dim">none yet</p>`
    }
    ${s?.artifacts?.length ? html`<h4>Artifacts</h4><${Artifacts} runId=${run.runId} step=${name} artifacts=${s.artifacts} />` : null}
    <h4>Attempts</h4>
    <ol class="attempts">
      ${attempts.map((e) => html`<li key=${e.seq}>${fmtTime(e.timestamp)} · ${e.type.replace('task_', '')} · attempt ${text(e.data['attempt'])}${e.data['worker'] ? ` · worker ${text(e.data['worker'])}` : ''}${(e.data['error'] as { message?: string } | undefined)?.message ? ` · ${(e.data['error'] as { message: string }).message}` : ''}</li>`)}
    </ol>
    <h4>Logs</h4>
    ${logs.length ? html`<pre class="logs" data-testid="logs">${logs.map((e) => `${new Date(e.timestamp).toLocaleTimeString()} ${text(e.data['level'])} ${text(e.data['message'])}`).join('\n')}</pre>` : html`<p class="dim">no log lines</p>`}
  </aside>`;
}

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
