/**
 * Workflows: the definitions with their versions; one workflow's graph and a form made from its `params` (each
 * field prefilled with the default; numbers, booleans and objects parsed back to their type) that starts a run.
 */
import type { VNode } from '../vendor/preact.js';
import { useState } from '../vendor/hooks.js';
import { command, get } from '../api.js';
import { ErrorBox, Link, confirmAction, fmtTime, html, navigate, useLoad } from '../ui.js';
import { Graph } from './graph.js';

interface Summary {
  name: string;
  description?: string;
  version: string;
  versions?: string[];
  steps?: number;
}

interface Definition {
  name: string;
  description: string;
  version: string;
  steps: { name: string; module: string; action: string; dependencies?: string[] }[];
  params: Record<string, unknown>;
  createdAt: number;
}

export function WorkflowsPage(): VNode {
  const list = useLoad(() => get<Summary[]>('workflows'), []);
  return html`<section>
    <header class="page-head"><h2>Workflows</h2></header>
    ${list.error ? html`<${ErrorBox} error=${list.error} />` : null}
    <div class="table-wrap"><table data-testid="workflows"><thead><tr><th>Workflow</th><th>Version</th><th>Steps</th><th>Description</th></tr></thead>
      <tbody>${(list.value ?? []).map(
        (w) =>
          html`<tr key=${w.name}><td><${Link} href=${`/workflows/${encodeURIComponent(w.name)}`}>${w.name}</${Link}></td><td>${w.version}${w.versions && w.versions.length > 1 ? html` <span class="dim">(${w.versions.join(', ')})</span>` : null}</td><td>${String(w.steps ?? '')}</td><td>${w.description ?? ''}</td></tr>`,
      )}</tbody></table></div>
  </section>`;
}

/** A field's text for its default value, and back. */
function toText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function fromText(text: string, like: unknown, name: string): unknown {
  if (typeof like === 'string') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`parameter "${name}": not valid JSON (a ${typeof like}); e.g. ${JSON.stringify(like)}`);
  }
}

export function WorkflowPage(props: { name: string }): VNode {
  const wf = useLoad(() => get<Definition>(`workflows/${encodeURIComponent(props.name)}`), [props.name]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  if (wf.error)
    return html`<section><${ErrorBox} error=${wf.error} /><p><${Link} href="/workflows">← Back to workflows</${Link}></p></section>`;
  if (!wf.value) return html`<p class="dim">Loading…</p>`;
  const def = wf.value;
  const names = Object.keys(def.params ?? {});
  const start = (e: Event): void => {
    e.preventDefault();
    let params: Record<string, unknown>;
    try {
      params = Object.fromEntries(
        names.map((n) => [n, fromText(values[n] ?? toText(def.params[n]), def.params[n], n)]),
      );
      setFormError(null);
    } catch (err) {
      setFormError((err as Error).message);
      return;
    }
    confirmAction({
      title: `Start ${def.name} v${def.version}?`,
      body: html`<pre class="json">${JSON.stringify(params, null, 2)}</pre>`,
      confirmLabel: 'Start run',
      run: () => command<{ runId: string }>('workflow.start', { name: def.name, version: def.version, params }),
      closeOnDone: true,
      done: (v) => navigate(`/runs/${encodeURIComponent((v as { runId: string }).runId)}`),
    });
  };
  return html`<section>
    <header class="page-head"><h2>${def.name} <span class="dim">v${def.version}</span></h2><${Link} href=${`/runs?workflow=${encodeURIComponent(def.name)}`}>Runs of this workflow →</${Link}></header>
    <p>${def.description}</p>
    <p class="dim">Created ${fmtTime(def.createdAt)}</p>
    <div class="run-body">
      <div class="run-main"><${Graph} steps=${def.steps.map((s) => ({ name: s.name, dependencies: s.dependencies ?? [], detail: `${s.module}.${s.action}` }))} status=${() => 'not_started'} /></div>
      <form class="run-form step-details" onSubmit=${start} data-testid="run-form">
        <h3>Run</h3>
        ${names.length === 0 ? html`<p class="dim">This workflow takes no parameters.</p>` : null}
        ${names.map(
          (n) => html`<label>${n}
            <input name=${n} value=${values[n] ?? toText(def.params[n])} onInput=${(e: Event) => setValues({ ...values, [n]: (e.target as HTMLInputElement).value })} />
          </label>`,
        )}
        ${formError ? html`<div class="error">${formError}</div>` : null}
        <button class="primary" type="submit" data-testid="start-run">Start run</button>
      </form>
    </div>
  </section>`;
}
