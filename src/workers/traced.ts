/**
 * A runner that gives each attempt a span: it starts the span as the attempt leaves (after its `queue` span), hands
 * the span's `traceparent` on with the attempt (a worker thread or remote worker continues it), and ends it with
 * the attempt's outcome. Used only when tracing is on; the engine's runner is left as it is otherwise.
 */
import type { Clock } from '../model/clock.js';
import type { AttemptOutcome, AttemptSpan, Tracing } from '../traces/tracing.js';
import type { WorkerReply } from './protocol.js';
import type { AttemptHooks, AttemptRequest, RunningAttempt, RunningBatch, TaskRunner } from './runner.js';

function outcomeOf(reply: WorkerReply | null): AttemptOutcome {
  if (reply === null)
    return {
      ok: false,
      error: { code: 'HANDED_BACK', message: 'handed back unstarted (its batch ran out of time); it is sent again' },
    };
  return reply.type === 'ok' ? { ok: true } : { ok: false, error: reply.error };
}

function thrownOutcome(err: unknown): AttemptOutcome {
  const e = err instanceof Error ? err : new Error(String(err));
  return { ok: false, error: { name: e.name, code: (e as { code?: string }).code, message: e.message } };
}

/**
 * Wraps `inner` so that its attempts are traced once `tracing()` returns the loaded tracing (it loads while the
 * engine starts; until then attempts go untraced). Keeps exactly the optional methods `inner` has: the scheduler
 * reads their presence (a runner that places tasks, one that batches).
 */
export function tracedRunner(inner: TaskRunner, tracing: () => Tracing | null, clock: Clock): TaskRunner {
  const begin = (t: Tracing, req: AttemptRequest): { span: AttemptSpan; req: AttemptRequest } => {
    const span = t.startAttempt({
      taskId: req.taskId,
      name: req.name,
      module: req.module,
      action: req.action,
      attempt: req.attempt,
      queuedMs: req.readyAt !== undefined ? Math.max(0, clock.now() - req.readyAt) : undefined,
      traceparent: req.traceparent,
    });
    return { span, req: { ...req, traceparent: span.traceparent } };
  };
  const runner: TaskRunner = {
    get capacity() {
      return inner.capacity;
    },
    start(req: AttemptRequest, hooks: AttemptHooks): RunningAttempt {
      const t = tracing();
      if (!t) return inner.start(req, hooks);
      const traced = begin(t, req);
      const run = inner.start(traced.req, hooks);
      run.reply.then(
        (r) => {
          if (r.spans) t.exportSpans(r.spans);
          traced.span.end(outcomeOf(r));
        },
        (e: unknown) => traced.span.end(thrownOutcome(e)),
      );
      return run;
    },
  };
  if (inner.startBatch) {
    const startBatch = inner.startBatch.bind(inner);
    runner.startBatch = (reqs: readonly AttemptRequest[]): RunningBatch => {
      const t = tracing();
      if (!t) return startBatch(reqs);
      const traced = reqs.map((r) => begin(t, r));
      const batch = startBatch(traced.map((x) => x.req));
      batch.replies.then(
        (replies) =>
          traced.forEach((x, i) => {
            const r = replies[i] ?? null;
            if (r?.spans) t.exportSpans(r.spans);
            x.span.end(outcomeOf(r));
          }),
        (e: unknown) => traced.forEach((x) => x.span.end(thrownOutcome(e))),
      );
      return batch;
    };
  }
  if (inner.batchLimit) runner.batchLimit = inner.batchLimit.bind(inner);
  if (inner.batchLanes !== undefined)
    Object.defineProperty(runner, 'batchLanes', { get: () => inner.batchLanes, enumerable: true });
  if (inner.learn) runner.learn = inner.learn.bind(inner);
  if (inner.hasRoom) runner.hasRoom = inner.hasRoom.bind(inner);
  if (inner.place) runner.place = inner.place.bind(inner);
  if (inner.onChange) runner.onChange = inner.onChange.bind(inner);
  return runner;
}
