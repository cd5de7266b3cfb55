/**
 * `explainTask`: why a task is where it is, as data and as one sentence. No system users compare us with answers
 * this; the scheduler knows the answer, so it says it.
 */
import type { TaskExplanation } from '../../bus/protocol.js';
import type { TaskStatus } from '../../model/task.js';
import { isTerminal } from '../../model/task.js';
import type { TaskRecord } from './record.js';
import type { FlowBlock } from '../../model/taskView.js';

export interface ExplainContext {
  now: number;
  executing: boolean;
  running: number;
  limit: number;
  dependency(id: string): { name: string; status: TaskStatus } | null;
  blocker(rec: TaskRecord): { resource: string; reason: string; never: boolean } | null;
  /** The concurrency key or rate limit holding it back, or null. */
  flow?(rec: TaskRecord): FlowBlock | null;
  /** Why the runner cannot start it now (no worker serves it, or none has a free slot); null when it can. */
  placement?(rec: TaskRecord): string | null;
}

export function explainRecord(rec: TaskRecord, ctx: ExplainContext): TaskExplanation {
  const name = `task "${rec.spec.name}"`;
  const base = { taskId: rec.id, status: rec.status };
  if (isTerminal(rec.status)) {
    return {
      ...base,
      summary: `${name} ended ${rec.status}${rec.error ? `: ${rec.error.message}` : ''}`,
      waitingOn: null,
    };
  }
  switch (rec.status) {
    case 'pending': {
      const pending: { taskId: string; name: string; status: TaskStatus }[] = [];
      for (const id of rec.spec.dependencies) {
        const d = ctx.dependency(id);
        if (d?.status !== 'completed')
          pending.push({ taskId: id, name: d?.name ?? id, status: d?.status ?? 'pending' });
      }
      const list = pending.map((d) => `"${d.name}" (${d.status})`).join(', ');
      return {
        ...base,
        summary: `${name} waits for ${pending.length} dependenc${pending.length === 1 ? 'y' : 'ies'} to complete: ${list}`,
        waitingOn: { kind: 'dependencies', pending },
      };
    }
    case 'retrying': {
      const until = rec.retryAt ?? ctx.now;
      return {
        ...base,
        summary: `${name} failed attempt ${rec.attempts} (${rec.error?.message ?? 'error'}) and retries in ${Math.max(0, until - ctx.now)} ms, at ${new Date(until).toISOString()}`,
        waitingOn: { kind: 'backoff', until, attempt: rec.attempts + 1 },
      };
    }
    case 'running':
      return {
        ...base,
        summary: `${name} is running (attempt ${rec.attempts}, for ${ctx.now - (rec.startedAt ?? ctx.now)} ms)`,
        waitingOn: null,
      };
    case 'ready': {
      if (rec.where === 'gated')
        return {
          ...base,
          summary: `${name} is ready and waits for its record to be written to the store`,
          waitingOn: { kind: 'queue', position: 0, ahead: 0 },
        };
      if (!ctx.executing)
        return {
          ...base,
          summary: `${name} is ready, but execution has not started: call startExecution()`,
          waitingOn: { kind: 'paused' },
        };
      if (rec.where === 'parked') {
        const b = ctx.blocker(rec);
        if (b)
          return {
            ...base,
            summary: `${name} waits for resources: ${b.reason}`,
            waitingOn: { kind: 'resources', resource: b.resource, reason: b.reason },
          };
      }
      const held = ctx.flow?.(rec) ?? null;
      if (held?.kind === 'concurrency_key') {
        const { kind: _, ...key } = held;
        const who = held.holders.length ? `: held by ${held.holders.map((h) => `"${h}"`).join(', ')}` : '';
        return {
          ...base,
          summary: `${name} waits for concurrency key "${held.key}" (${held.running} of ${held.limit} running, rule ${held.rule})${who}`,
          waitingOn: { kind: 'concurrency_key', ...key },
        };
      }
      if (held?.kind === 'rate_limit') {
        const { kind: _, ...limit } = held;
        const bucket = held.key === '' ? '' : ` (key "${held.key}")`;
        const when =
          held.until === null
            ? 'when its units free up'
            : `in ${Math.max(0, held.until - ctx.now)} ms, at ${new Date(held.until).toISOString()}`;
        return {
          ...base,
          summary: `${name} waits for rate limit "${held.name}"${bucket}: ${held.spent} of ${held.limit} per ${held.per} spent; its ${held.units} unit(s) are there ${when}`,
          waitingOn: { kind: 'rate_limit', ...limit },
        };
      }
      const why = ctx.placement?.(rec) ?? null;
      if (why !== null)
        return { ...base, summary: `${name} waits for a worker: ${why}`, waitingOn: { kind: 'worker', reason: why } };
      const lane = rec.lane;
      if (lane.running >= lane.max) {
        return {
          ...base,
          summary: `${name} waits for a slot in session "${lane.id}": ${lane.running} of ${lane.max} running (mode ${lane.mode})`,
          waitingOn: { kind: 'session_limit', sessionId: lane.id, running: lane.running, limit: lane.max },
        };
      }
      if (ctx.running >= ctx.limit) {
        return {
          ...base,
          summary: `${name} waits for a free worker: ${ctx.running} of ${ctx.limit} running`,
          waitingOn: { kind: 'concurrency', running: ctx.running, limit: ctx.limit },
        };
      }
      let position = 0;
      for (const e of lane.queue.entries()) {
        if (e === rec) break;
        position++;
      }
      return {
        ...base,
        summary: `${name} is queued with ${position} task(s) ahead of it in session "${lane.id}"`,
        waitingOn: { kind: 'queue', position, ahead: position },
      };
    }
  }
  return { ...base, summary: `${name} is ${rec.status}`, waitingOn: null };
}
