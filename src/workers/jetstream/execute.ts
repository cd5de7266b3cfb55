/**
 * How a remote worker runs the attempts of one work message on its own pool: short actions without a channel go to
 * a thread several per message (as on the daemon's own threads), the rest one by one, each attempt's progress and
 * logs relayed to the daemon. Every attempt settles with its outcome; none rejects.
 */
import { serializeError } from '../../errors.js';
import type { LocalPoolRunner } from '../local.js';
import type { AttemptRequest, RunningAttempt } from '../runner.js';
import type { ProgressMessage, RemoteOutcome, WorkMessage } from './protocol.js';

/** What running a message's attempts needs of the worker. */
export interface AttemptExecution {
  readonly runner: LocalPoolRunner;
  /** The attempts running, by dispatch id (a cancel from the daemon finds them here). */
  readonly running: Map<string, RunningAttempt>;
  /** Sends an attempt's progress or log line to the daemon. */
  progress(p: ProgressMessage): void;
}

export /** The attempt a work message asks for, as this worker's pool runner takes it (a redelivery counts as an attempt). */
function attemptOf(m: WorkMessage, deliveries: number): AttemptRequest {
  return {
    taskId: m.taskId,
    name: m.name,
    module: m.module,
    action: m.action,
    params: m.params,
    attempt: m.attempt + deliveries - 1,
    idempotencyKey: m.idempotencyKey,
    workingDir: m.workingDir,
    upstream: m.upstream,
    channel: m.channel,
    artifactScope: m.artifactScope,
    artifacts: m.artifacts,
    traceparent: m.traceparent,
  };
}

/**
 * Runs a message's attempts: short actions without a channel go to the pool several per thread message (as on the
 * daemon's own threads), the rest one by one. Each promise settles with the attempt's outcome, never rejects.
 */
export function runAttempts(x: AttemptExecution, items: WorkMessage[], deliveries: number): Promise<RemoteOutcome>[] {
  const runner = x.runner;
  const out = new Array<Promise<RemoteOutcome>>(items.length);
  const short: number[] = [];
  items.forEach((m, i) => {
    if (items.length > 1 && !m.channel && runner.batchLimit(m.module, m.action) > 1) short.push(i);
    else out[i] = runOne(x, m, deliveries);
  });
  for (let k = 0; k < short.length;) {
    const first = items[short[k] as number] as WorkMessage;
    const idx = short.slice(k, k + runner.batchLimit(first.module, first.action));
    k += idx.length;
    const batch = runner.startBatch(idx.map((i) => attemptOf(items[i] as WorkMessage, deliveries)));
    idx.forEach((i, j) => {
      const m = items[i] as WorkMessage;
      const attempt = batch.attempts[j];
      if (attempt) x.running.set(m.dispatch, attempt);
      out[i] = batch.replies.then(
        (replies) => {
          x.running.delete(m.dispatch);
          const reply = replies[j];
          // Handed back unstarted (the batch's time budget ran out): run alone.
          if (!reply) return runOne(x, m, deliveries);
          runner.learn(m.module, m.action, reply);
          return reply;
        },
        (err: unknown) => {
          x.running.delete(m.dispatch);
          return { type: 'crashed', error: serializeError(err) };
        },
      );
    });
  }
  return out;
}

/** One attempt alone, with its progress and logs relayed to the daemon. */
async function runOne(x: AttemptExecution, m: WorkMessage, deliveries: number): Promise<RemoteOutcome> {
  const runner = x.runner;
  const run = runner.start(attemptOf(m, deliveries), {
    progress: (value) => x.progress({ dispatch: m.dispatch, kind: 'progress', value }),
    log: (level, message) => x.progress({ dispatch: m.dispatch, kind: 'log', level, message }),
  });
  x.running.set(m.dispatch, run);
  try {
    const reply = await run.reply;
    runner.learn(m.module, m.action, reply);
    return reply;
  } catch (err) {
    return { type: 'crashed', error: serializeError(err) };
  } finally {
    run.close();
    x.running.delete(m.dispatch);
  }
}
