/**
 * Workers joining, leaving and lost, as the JetStream runner hears them. A heartbeat announces a worker (one of
 * another protocol version is ignored) and names the results it holds from an earlier daemon run, so those tasks
 * are not dispatched again while it lives; a goodbye or a silence past `lostAfterMs` loses it, and what the daemon
 * had in flight there fails (retryable) or, when it waited for a held result, is dispatched after all.
 */
import type { JetStreamAttempt } from './attempt.js';
import type { RunnerCore } from './core.js';
import type { KnownWorker } from './directory.js';
import type { WorkerInfo } from './protocol.js';
import { REMOTE_PROTOCOL } from './protocol.js';

/** A worker's heartbeat (its announcement). */
export function workerHeartbeat(r: RunnerCore, info: WorkerInfo): void {
  if (info.protocol !== REMOTE_PROTOCOL) {
    r.log.warn(
      { worker: info.name, protocol: info.protocol, expected: REMOTE_PROTOCOL },
      'worker speaks another protocol version; ignored',
    );
    return;
  }
  // Its claims count before it can take work (the scheduler hears of it in a microtask).
  const freed = r.claims.heard(info.id, info.holding);
  if (r.directory.heartbeat(info, Date.now())) {
    r.log.info(
      {
        worker: info.name,
        id: info.id,
        host: info.host,
        tags: info.tags,
        modules: info.modules.length,
        threads: info.threads,
        version: info.version,
        holding: info.holding.length,
      },
      'worker joined',
    );
    r.changed();
  }
  for (const taskId of info.holding) callBack(r, taskId, info.id);
  // Answered otherwise (kept in the stream, refused): those tasks go out for real.
  for (const a of freed) redispatch(r, a, `worker "${info.name}" no longer holds its result`);
}

/**
 * A worker names a held result of a task this run already dispatched to another worker (whose heartbeat came
 * first): if that worker did not start it yet, it is told to skip it and the attempt waits for the held result.
 */
function callBack(r: RunnerCore, taskId: string, holderId: string): void {
  const a = r.dispatches.current(taskId);
  const holder = r.directory.workers.get(holderId);
  if (!a || !holder || a.parkedOn !== null || a.startedOn || a.workerId === holderId) return;
  r.sendCancel({ dispatch: a.dispatch, kind: 'kill', reason: 'another worker holds a result of this task' });
  if (a.seq !== null && !a.batched) void r.deleteWork(a.seq);
  r.directory.release(a.dispatch);
  a.calledBack = true;
  r.park(a, holder);
}

/** A parked attempt whose holder is gone or holds nothing now: published to a worker, as any other. */
function redispatch(r: RunnerCore, a: JetStreamAttempt, why: string): void {
  if (a.done) return;
  r.log.info({ taskId: a.req.taskId, task: a.req.name, why }, 'the held result will not come: dispatching the task');
  // Its dispatch id was told to stop: failed instead (retryable), so the scheduler runs it again under a new one.
  if (a.calledBack) return r.giveUp(a, `${why}; task "${a.req.name}" runs again`, 'lost');
  a.workerId = null;
  a.worker = undefined;
  r.dispatch(a);
  r.changed();
}

/** A worker said goodbye (it stops). */
export function workerBye(r: RunnerCore, id: string): void {
  const w = r.directory.workers.get(id);
  if (!w) return;
  r.log.info({ worker: w.info.name, id }, 'worker left');
  lose(r, w, `worker "${w.info.name}" stopped`);
  r.directory.workers.delete(id);
}

/** Run every so often: gives up held results that waited too long, and loses workers no longer heard from. */
export function sweepLost(r: RunnerCore): void {
  // A held result whose task was never dispatched again (cancelled meanwhile): given up after HELD_MS.
  for (const h of r.dispatches.expireHeld(Date.now())) {
    r.counters.lateResults++;
    h.answer({ accepted: false, reason: 'late' });
  }
  for (const w of r.directory.sweep(Date.now(), r.lostAfterMs)) {
    r.counters.lostWorkers++;
    r.log.warn(
      { worker: w.info.name, id: w.info.id, host: w.info.host, inFlight: w.inFlight.size },
      'worker lost (no heartbeat); its attempts run again elsewhere',
    );
    lose(r, w, `worker "${w.info.name}" on ${w.info.host} stopped heartbeating for ${r.lostAfterMs} ms (lost)`);
  }
}

/** Fails what the daemon had in flight on a worker that is gone (retryable: the scheduler runs it again). */
function lose(r: RunnerCore, w: KnownWorker, why: string): void {
  for (const a of r.claims.drop(w.info.id)) redispatch(r, a, why);
  for (const dispatch of [...w.inFlight]) {
    const a = r.dispatches.get(dispatch);
    if (!a) continue;
    // Out of the stream, so JetStream does not hand the old dispatch to another worker as well.
    if (a.seq !== null) void r.deleteWork(a.seq);
    r.giveUp(a, `${why} while running task "${a.req.name}"`, 'lost');
  }
}
