/**
 * The engine's other views: the task queue by priority (with `explain` for a waiting task), remote workers,
 * resources and their allocations, and sessions. Each reloads every few seconds.
 */
import type { VNode } from '../vendor/preact.js';
import { useEffect, useState } from '../vendor/hooks.js';
import { get } from '../api.js';
import { ErrorBox, Json, StatusBadge, fmtTime, html, useLoad } from '../ui.js';

/** Reloads `reload` every `ms`. */
function useEvery(reload: () => void, ms: number): void {
  useEffect(() => {
    const t = setInterval(reload, ms);
    return () => clearInterval(t);
  }, []);
}

interface TaskView {
  id: string;
  name: string;
  module: string;
  action: string;
  priority: string;
  status: string;
  attempts: number;
}

const PRIORITY = ['critical', 'high', 'normal', 'low', 'background'];

export function TasksPage(): VNode {
  const tasks = useLoad(() => get<TaskView[]>('tasks?status=ready,pending,running,retrying&limit=1000'), []);
  const [explained, setExplained] = useState<{ id: string; value: unknown } | null>(null);
  useEvery(tasks.reload, 3000);
  const sorted = [...(tasks.value ?? [])].sort((a, b) => PRIORITY.indexOf(a.priority) - PRIORITY.indexOf(b.priority));
  const explain = (id: string): void => {
    get(`tasks/${encodeURIComponent(id)}/explain`).then(
      (value) => setExplained({ id, value }),
      (err: unknown) => setExplained({ id, value: err instanceof Error ? err.message : String(err) }),
    );
  };
  return html`<section>
    <header class="page-head"><h2>Tasks</h2><span class="dim">queued, waiting and running, by priority</span></header>
    ${tasks.error ? html`<${ErrorBox} error=${tasks.error} />` : null}
    <div class="table-wrap"><table data-testid="tasks">
      <thead><tr><th>Priority</th><th>Task</th><th>Action</th><th>Status</th><th>Attempts</th><th></th></tr></thead>
      <tbody>${sorted.map(
        (t) => html`<tr key=${t.id}>
          <td>${t.priority}</td><td>${t.name} <span class="mono dim">${t.id}</span></td><td>${t.module}.${t.action}</td>
          <td><${StatusBadge} status=${t.status} /></td><td>${t.attempts}</td>
          <td>${t.status !== 'running' ? html`<button onClick=${() => explain(t.id)}>Explain</button>` : null}</td>
        </tr>`,
      )}</tbody>
    </table></div>
    ${sorted.length === 0 && tasks.value ? html`<p class="empty">No task is waiting or running.</p>` : null}
    ${explained ? html`<div class="panel" data-testid="explain"><h3>Why <span class="mono">${explained.id}</span> waits</h3><${Json} value=${explained.value} /></div>` : null}
  </section>`;
}

interface WorkersView {
  local?: boolean;
  connected?: boolean;
  workers?: {
    id?: string;
    name?: string;
    tags?: string[];
    capacity?: number;
    inFlight?: number;
    [k: string]: unknown;
  }[];
}

export function WorkersPage(): VNode {
  const w = useLoad(() => get<WorkersView>('workers'), []);
  useEvery(w.reload, 3000);
  const list = w.value?.workers ?? [];
  return html`<section>
    <header class="page-head"><h2>Workers</h2><span class="dim">${w.value?.local === false ? 'remote workers only' : 'local threads'}${w.value?.connected ? ' + remote workers over NATS' : ''}</span></header>
    ${w.error ? html`<${ErrorBox} error=${w.error} />` : null}
    ${
      list.length
        ? html`<div class="table-wrap"><table data-testid="workers"><thead><tr><th>Worker</th><th>Tags</th><th>Capacity</th><th>In flight</th><th>Details</th></tr></thead>
          <tbody>${list.map((x) => html`<tr><td class="mono">${String(x.id ?? x.name ?? '')}</td><td>${(x.tags ?? []).join(', ')}</td><td>${String(x.capacity ?? '')}</td><td>${String(x.inFlight ?? '')}</td><td><${Json} value=${x} /></td></tr>`)}</tbody></table></div>`
        : html`<p class="empty">No remote worker is connected (start one with <code>codomyrmex worker --nats URL</code>).</p>`
    }
  </section>`;
}

interface ResourceUsage {
  id: string;
  name: string;
  type: string;
  capacity: Record<string, number>;
  allocated?: Record<string, number>;
  utilization?: number;
}

export function ResourcesPage(): VNode {
  const r = useLoad(
    () =>
      Promise.all([
        get<ResourceUsage[]>('resources'),
        get<{ holderId: string; allocationId?: string; id?: string; resources?: unknown }[]>('allocations'),
      ]),
    [],
  );
  useEvery(r.reload, 3000);
  const [resources, allocations] = r.value ?? [[], []];
  return html`<section>
    <header class="page-head"><h2>Resources</h2></header>
    ${r.error ? html`<${ErrorBox} error=${r.error} />` : null}
    <div class="table-wrap"><table data-testid="resources"><thead><tr><th>Resource</th><th>Type</th><th>Capacity</th><th>Allocated</th><th>Utilization</th></tr></thead>
      <tbody>${resources.map((x) => html`<tr><td>${x.name} <span class="mono dim">${x.id}</span></td><td>${x.type}</td><td>${JSON.stringify(x.capacity)}</td><td>${JSON.stringify(x.allocated ?? {})}</td><td>${x.utilization !== undefined ? `${Math.round(x.utilization * 100)}%` : ''}</td></tr>`)}</tbody></table></div>
    <h3>Allocations</h3>
    ${allocations.length ? html`<${Json} value=${allocations} />` : html`<p class="empty">No allocations.</p>`}
  </section>`;
}

interface Session {
  sessionId?: string;
  id?: string;
  userId: string;
  mode: string;
  status: string;
  createdAt?: number;
  maxParallelTasks?: number;
}

export function SessionsPage(): VNode {
  const s = useLoad(() => get<Session[]>('sessions'), []);
  useEvery(s.reload, 3000);
  return html`<section>
    <header class="page-head"><h2>Sessions</h2></header>
    ${s.error ? html`<${ErrorBox} error=${s.error} />` : null}
    <div class="table-wrap"><table data-testid="sessions"><thead><tr><th>Session</th><th>User</th><th>Mode</th><th>Status</th><th>Parallel tasks</th><th>Created</th></tr></thead>
      <tbody>${(s.value ?? []).map((x) => html`<tr><td class="mono">${x.sessionId ?? x.id ?? ''}</td><td>${x.userId}</td><td>${x.mode}</td><td><${StatusBadge} status=${x.status} /></td><td>${String(x.maxParallelTasks ?? '')}</td><td>${fmtTime(x.createdAt)}</td></tr>`)}</tbody></table></div>
  </section>`;
}
