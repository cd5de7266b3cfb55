/**
 * Flow control's invariants on a fake clock, with a runner whose attempts end when the test says (completed,
 * failed, crashed, timed out, cancelled): per-key limits are never exceeded, every admitted task gives its keys
 * back exactly once (the scheduler's count of holders always equals the attempts running with that key, and nothing
 * is held once every task ended), keys are served round-robin (one key's backlog delays another key's task by at
 * most one slot turn), and a rate limit never spends more than its limit in any window.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttemptRequest, RunningAttempt, TaskRunner } from '../../src/workers/runner.js';
import { TaskScheduler } from '../../src/actors/tasks/scheduler.js';
import { InMemoryBus, MemoryStore, ModuleRegistry } from '../../src/index.js';
import type { TaskInput } from '../../src/index.js';
import type { WorkerReply } from '../../src/workers/protocol.js';
import { FakeClock } from '../support/fakeClock.js';

interface Live {
  req: AttemptRequest;
  at: number;
  settle: (r: WorkerReply) => void;
  crash: (e: Error) => void;
}

/** Attempts start when the scheduler says and end when the test says. */
class ManualRunner implements TaskRunner {
  readonly capacity = 1000;
  readonly live = new Map<string, Live>();
  readonly starts: { taskId: string; at: number }[] = [];
  constructor(readonly clock: FakeClock) {}
  start(req: AttemptRequest): RunningAttempt {
    let settle!: (r: WorkerReply) => void;
    let crash!: (e: Error) => void;
    const reply = new Promise<WorkerReply>((res, rej) => {
      settle = res;
      crash = rej;
    });
    const at = this.clock.now();
    const entry: Live = { req, at, settle, crash };
    this.live.set(req.taskId, entry);
    this.starts.push({ taskId: req.taskId, at });
    const end = (): void => {
      this.live.delete(req.taskId);
    };
    void reply.then(end, end);
    return { reply, abort: () => false, kill: () => crash(new Error('thread terminated')), close: () => {} };
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(maxConcurrency: number): { scheduler: TaskScheduler; runner: ManualRunner; clock: FakeClock } {
  const clock = new FakeClock();
  const runner = new ManualRunner(clock);
  const scheduler = new TaskScheduler({
    bus: new InMemoryBus(),
    runner,
    store: new MemoryStore(),
    registry: new ModuleRegistry(),
    clock,
    random: () => 0.5,
    options: { maxConcurrency, agingMs: 0, abortGraceMs: 10, retainFinished: 10_000 },
  });
  return { scheduler, runner, clock };
}

const ruleArb = fc.record({
  key: fc.constantFrom('a', 'b', 'c', '{{params.tenant}}'),
  limit: fc.integer({ min: 1, max: 3 }),
});
const taskArb = fc.record({
  rules: fc.array(ruleArb, { minLength: 0, maxLength: 2 }),
  tenant: fc.constantFrom('t1', 't2', 7),
  priority: fc.constantFrom('high', 'normal', 'low'),
  timeout: fc.option(fc.constantFrom(1, 5), { nil: undefined }),
});
const opArb = fc.oneof(
  fc.record({ op: fc.constant('end' as const), pick: fc.nat(), how: fc.constantFrom('ok', 'ok', 'fail', 'crash') }),
  fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 3000 }) }),
  fc.record({ op: fc.constant('add' as const), task: taskArb }),
);

function toInput(
  t: {
    rules: { key: string; limit: number }[];
    tenant: string | number;
    priority: string;
    timeout: number | undefined;
  },
  id: string,
): TaskInput {
  // A key's limit is the same for every task using it, as a user would write it.
  const limits: Record<string, number> = { a: 1, b: 2, c: 3, '{{params.tenant}}': 1 };
  const rules = [...new Map(t.rules.map((r) => [r.key, { key: r.key, limit: limits[r.key] ?? r.limit }])).values()];
  return {
    id,
    module: 'core',
    action: 'noop',
    priority: t.priority as 'normal',
    parameters: { tenant: t.tenant },
    maxRetries: 1,
    retry: { initialDelay: 0.5, jitter: 0 },
    ...(t.timeout !== undefined ? { timeout: t.timeout } : {}),
    ...(rules.length === 1 ? { concurrency: rules[0] } : rules.length ? { concurrency: rules } : {}),
  };
}

describe('flow control on a fake clock', () => {
  it('never runs more than a key allows, and every admitted task releases its keys exactly once however it ends', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(taskArb, { minLength: 1, maxLength: 12 }),
        fc.array(opArb, { maxLength: 60 }),
        async (limit, initial, ops) => {
          run++;
          const { scheduler, runner, clock } = setup(limit);
          const ids: string[] = [];
          const keysOf = new Map<string, string[]>();
          const add = (t: (typeof initial)[number]): void => {
            const id = `r${run}-${ids.length}`;
            const input = toInput(t, id);
            scheduler.add([input]);
            ids.push(id);
            const rules =
              input.concurrency === undefined
                ? []
                : Array.isArray(input.concurrency)
                  ? input.concurrency
                  : [input.concurrency];
            keysOf.set(
              id,
              rules.map((r) => String(r.key).replace('{{params.tenant}}', String(t.tenant))),
            );
          };
          for (const t of initial) add(t);
          const done = scheduler.startExecution();
          const check = (): void => {
            const held = new Map<string, number>();
            for (const id of runner.live.keys())
              for (const k of keysOf.get(id) ?? []) held.set(k, (held.get(k) ?? 0) + 1);
            const limits: Record<string, number> = { a: 1, b: 2, c: 3 };
            for (const [k, n] of held) expect(n, `key ${k}`).toBeLessThanOrEqual(limits[k] ?? 1);
            expect(runner.live.size).toBeLessThanOrEqual(limit);
            // The scheduler's holders are exactly the attempts running: none held twice, none lost.
            const levels = scheduler.flowStatus(1000).busiestKeys;
            for (const l of levels) expect(l.running, `holders of ${l.key}`).toBe(held.get(l.key) ?? 0);
            for (const [k, n] of held) expect(levels.find((l) => l.key === k)?.running).toBe(n);
          };
          await tick();
          check();
          for (const o of ops) {
            const live = [...runner.live.values()];
            if (o.op === 'end' && live.length) {
              const a = live[o.pick % live.length]!;
              if (o.how === 'ok') a.settle({ type: 'ok', output: null });
              else if (o.how === 'fail')
                a.settle({
                  type: 'error',
                  error: { name: 'Error', code: 'ACTION_FAILED', message: 'no', retryable: true },
                });
              else a.crash(new Error('thread died'));
            } else if (o.op === 'cancel' && ids.length) scheduler.cancel(ids[o.pick % ids.length]!);
            else if (o.op === 'advance') clock.advance(o.ms);
            else if (o.op === 'add') add(o.task);
            await tick();
            check();
          }
          // Drain: end every attempt, let retries come due, until every task ended.
          for (let i = 0; i < 500; i++) {
            const open = ids.filter(
              (id) =>
                !['completed', 'failed', 'timed_out', 'cancelled', 'skipped'].includes(scheduler.get(id)?.status ?? ''),
            );
            if (open.length === 0) break;
            for (const a of [...runner.live.values()]) a.settle({ type: 'ok', output: null });
            await tick();
            clock.advance(1000);
            await tick();
            check();
          }
          await done;
          expect(runner.live.size).toBe(0);
          const status = scheduler.flowStatus();
          expect(status.keys, 'keys still held or waited for after every task ended').toBe(0);
          expect(status.waiting).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("serves keys round-robin: with N slots, at most N tasks of a backlogged key start between another key's submission and its start", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 20 }),
        async (slots, backlog, otherKeys, endBefore) => {
          const { scheduler, runner } = setup(slots);
          scheduler.add(
            Array.from({ length: backlog }, (_, i) => ({
              id: `a${i}`,
              module: 'core',
              action: 'noop',
              concurrency: { key: 'tenant-a', limit: 10_000 },
            })),
          );
          // Other keys with a little work of their own, and some tasks without a key.
          for (let k = 0; k < otherKeys; k++)
            scheduler.add([
              { id: `o${k}`, module: 'core', action: 'noop', concurrency: { key: `other-${k}`, limit: 5 } },
              { id: `n${k}`, module: 'core', action: 'noop' },
            ]);
          const done = scheduler.startExecution();
          await tick();
          for (let i = 0; i < endBefore && runner.live.size; i++) {
            [...runner.live.values()][0]!.settle({ type: 'ok', output: null });
            await tick();
          }
          const before = runner.starts.length;
          scheduler.add([{ id: 'b', module: 'core', action: 'noop', concurrency: { key: 'tenant-b', limit: 1 } }]);
          await tick();
          while (!runner.live.has('b') && runner.starts.every((s) => s.taskId !== 'b')) {
            const first = [...runner.live.values()][0];
            if (!first) break;
            first.settle({ type: 'ok', output: null });
            await tick();
          }
          const between = runner.starts.slice(before).findIndex((s) => s.taskId === 'b');
          expect(between, 'b started').toBeGreaterThanOrEqual(0);
          const aStarts = runner.starts.slice(before, before + between).filter((s) => s.taskId.startsWith('a')).length;
          expect(aStarts).toBeLessThanOrEqual(slots);
          for (;;) {
            const live = [...runner.live.values()];
            if (!live.length) break;
            for (const a of live) a.settle({ type: 'ok', output: null });
            await tick();
          }
          await done;
        },
      ),
      { numRuns: 40 },
    );
  });

  it('never spends more than a rate limit allows in any window, and waiting tasks hold no slot', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom('1s', '10s', '1m'),
        fc.array(
          fc.record({
            units: fc.integer({ min: 1, max: 3 }),
            key: fc.constantFrom(undefined, 'k1', 'k2'),
            gap: fc.integer({ min: 0, max: 4000 }),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        async (limit, per, arrivals) => {
          const { scheduler, runner, clock } = setup(4);
          scheduler.rateLimits.create({ name: 'api', limit: Math.max(limit, 3), per });
          const perMs = { '1s': 1000, '10s': 10_000, '1m': 60_000 }[per];
          const unitsOf = new Map<string, { units: number; key: string }>();
          const done = scheduler.startExecution();
          let i = 0;
          for (const a of arrivals) {
            const id = `t${i++}`;
            unitsOf.set(id, { units: a.units, key: a.key ?? '' });
            scheduler.add([
              {
                id,
                module: 'core',
                action: 'noop',
                rateLimit: { name: 'api', units: a.units, ...(a.key ? { key: a.key } : {}) },
              },
            ]);
            await tick();
            // Attempts end at once: a slot is never what holds a task back here.
            for (const l of [...runner.live.values()]) l.settle({ type: 'ok', output: null });
            await tick();
            clock.advance(a.gap);
            await tick();
          }
          for (let n = 0; n < 1000 && runner.starts.length < arrivals.length; n++) {
            for (const l of [...runner.live.values()]) l.settle({ type: 'ok', output: null });
            clock.advance(1000);
            await tick();
          }
          for (const l of [...runner.live.values()]) l.settle({ type: 'ok', output: null });
          await done;
          expect(runner.starts).toHaveLength(arrivals.length);
          // Every window (t - per, t] ending at a start, per bucket, holds at most `limit` units.
          const max = Math.max(limit, 3);
          for (const s of runner.starts) {
            const bucket = unitsOf.get(s.taskId)!.key;
            const spent = runner.starts
              .filter((o) => unitsOf.get(o.taskId)!.key === bucket && o.at > s.at - perMs && o.at <= s.at)
              .reduce((n, o) => n + unitsOf.get(o.taskId)!.units, 0);
            expect(spent, `bucket "${bucket}" at ${s.at}`).toBeLessThanOrEqual(max);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
