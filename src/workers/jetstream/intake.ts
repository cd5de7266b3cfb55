/**
 * What the JetStream runner does with a worker's reports on an attempt: that it started (perhaps a redelivery, or a
 * copy of one the daemon already ended), its progress and log lines, and its result. A result is applied to its
 * attempt and answered once committed; one for an attempt the daemon already ended is answered `late`; one from an
 * earlier daemon run stands for the task's current attempt, or is held until the task is dispatched again; any
 * other is refused as `unknown`.
 */
import type { RunnerCore } from './core.js';
import type { ProgressMessage, ResultAck, ResultMessage, StartedMessage } from './protocol.js';

/** A worker's name by its id (a result names the worker by id). */
function nameOf(r: RunnerCore, id: string): string | undefined {
  return r.directory.workers.get(id)?.info.name;
}

/** Answers `accepted` once the scheduler's change (applied in a microtask) is committed. */
function acceptAfterCommit(r: RunnerCore, answer: (ack: ResultAck) => void): void {
  setImmediate(
    () =>
      void r.afterCommit().then(
        () => answer({ accepted: true }),
        () => undefined,
      ),
  );
}

/** A worker took an attempt. */
export function attemptStarted(r: RunnerCore, m: StartedMessage): void {
  const a = r.dispatches.get(m.dispatch);
  // Called back while that worker took it: the kill it was sent stops it; the attempt waits for the held result.
  if (a && a.parkedOn !== null) return;
  if (!a) {
    // Ended here already (cancelled, timed out, or failed when its worker was lost): stop the copy.
    if (r.dispatches.ended(m.dispatch) !== undefined)
      r.sendCancel({ dispatch: m.dispatch, kind: 'kill', reason: 'the daemon already ended this attempt' });
    return;
  }
  a.startedOn = m.worker;
  const took = r.directory.move(m.dispatch, m.worker);
  if (took) a.worker = took.info.name;
  if (m.deliveries > 1) {
    r.counters.redeliveries++;
    r.log.warn(
      { taskId: a.req.taskId, task: a.req.name, worker: m.worker, deliveries: m.deliveries },
      'task redelivered to another worker',
    );
  }
}

/** An attempt's progress or log line, passed to its hooks. */
export function attemptProgress(r: RunnerCore, m: ProgressMessage): void {
  const a = r.dispatches.get(m.dispatch);
  if (!a) return;
  if (m.kind === 'progress') a.hooks.progress(m.value);
  else a.hooks.log(m.level, m.message);
}

/** A worker's result; `answer` is called once the outcome is committed (or refused). */
export function attemptResult(r: RunnerCore, m: ResultMessage, answer: (ack: ResultAck) => void): void {
  const a = r.dispatches.get(m.dispatch);
  if (a && a.parkedOn !== null) {
    // The report of a copy called back (its kill confirmed): the attempt waits for the held result instead.
    return answer({ accepted: false, reason: 'late' });
  }
  if (a) {
    a.worker = nameOf(r, m.worker) ?? m.name ?? a.worker;
    if (a.killing && m.outcome.type !== 'crashed') {
      // Stopped here (cancelled or timed out) before this result came: the scheduler discards it. (A crash is
      // the worker confirming the kill, not a result.)
      r.counters.lateResults++;
      r.log.warn(
        { taskId: m.taskId, dispatch: m.dispatch, worker: m.worker },
        'result after the daemon stopped the attempt: discarded',
      );
    }
    r.settle(a, m.outcome, 'applied');
    acceptAfterCommit(r, answer);
    return;
  }
  const seen = r.dispatches.ended(m.dispatch);
  if (seen === 'applied') return answer({ accepted: true });
  if (seen === 'late') {
    r.counters.lateResults++;
    r.log.warn(
      { taskId: m.taskId, dispatch: m.dispatch, worker: m.worker },
      'late result discarded (the daemon had already ended that attempt)',
    );
    return answer({ accepted: false, reason: 'late' });
  }
  const fromEarlierRun = !m.dispatch.startsWith(`${r.run}:`);
  const current = r.dispatches.current(m.taskId);
  if (fromEarlierRun && current) {
    // The daemon restarted while this worker ran the task, and has dispatched it again: this outcome stands.
    r.dispatches.remember(m.dispatch, 'applied');
    if (current.parkedOn === null && current.seq !== null && !current.startedOn) void r.deleteWork(current.seq);
    if (current.parkedOn === null)
      r.sendCancel({ dispatch: current.dispatch, kind: 'kill', reason: 'an earlier run of this task finished' });
    current.worker = nameOf(r, m.worker) ?? m.name ?? current.worker;
    r.settle(current, m.outcome, 'applied');
    acceptAfterCommit(r, answer);
    return;
  }
  const status = fromEarlierRun ? r.taskStatus(m.taskId) : null;
  if (status === 'ready' || status === 'running' || status === 'retrying' || status === 'pending') {
    // Not dispatched again yet (no worker announced itself to this run so far): held for when it is.
    r.dispatches.hold(m.taskId, { outcome: m.outcome, worker: m.name, answer }, Date.now());
    return;
  }
  r.counters.unknownResults++;
  r.log.warn(
    { taskId: m.taskId, dispatch: m.dispatch, worker: m.worker },
    'result for a task the daemon does not know: refused',
  );
  answer({ accepted: false, reason: 'unknown' });
}
