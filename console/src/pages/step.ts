/**
 * The run page's panel for the selected step: its times and attempts, a forEach step's items, a waiting step's
 * signal form, the resolved parameters, the output (with a download), its artifacts, and its logs.
 */
import type { VNode } from '../vendor/preact.js';
import { useState } from '../vendor/hooks.js';
import type { StreamEvent } from '../api.js';
import { ApiError, command, get, getToken } from '../api.js';
import type { TraceRef } from '../ui.js';
import {
  Json,
  Link,
  StatusBadge,
  TraceLink,
  confirmAction,
  fmtDuration,
  fmtTime,
  html,
  navigate,
  useLoad,
} from '../ui.js';
import type { Artifact, Definition, Item, Run } from './runTypes.js';
import { runLink, text } from './runTypes.js';

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

export function StepDetails(props: {
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
