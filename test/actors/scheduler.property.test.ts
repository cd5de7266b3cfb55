import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusEvent, OrchestrationEngine, TaskInput } from '../../src/index.js';
import { recordEvents, testEngine } from '../helpers.js';

const TERMINAL = new Set(['task_completed', 'task_failed', 'task_timed_out', 'task_cancelled', 'task_skipped']);

/** A random DAG: task i may depend only on tasks before it. Some tasks fail for good, some once. */
const graphArb = fc.integer({ min: 1, max: 14 }).chain((n) =>
  fc.tuple(
    fc.array(
      fc.record({
        deps: fc.array(fc.nat(), { maxLength: 3 }),
        kind: fc.constantFrom('ok', 'ok', 'ok', 'sleep', 'fail', 'flaky'),
        priority: fc.constantFrom('critical', 'high', 'normal', 'low', 'background'),
      }),
      { minLength: n, maxLength: n },
    ),
    fc.integer({ min: 1, max: 4 }),
  ),
);

describe('TaskScheduler invariants over random task graphs (real worker threads)', () => {
  let engine: OrchestrationEngine;
  beforeAll(() => {
    engine = testEngine({ threads: 2, concurrentTasksPerWorker: 4, maxConcurrency: 8 });
  });
  afterAll(() => engine.shutdown());

  it('no task starts before its dependencies complete, concurrency stays within the limit, every task ends once', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(graphArb, async ([nodes, limit]) => {
        run++;
        const ids = nodes.map((_, i) => `p${run}-t${i}`);
        const tasks: TaskInput[] = nodes.map((node, i) => {
          const deps = i === 0 ? [] : [...new Set(node.deps.map((d) => ids[d % i]!))];
          const base = {
            id: ids[i]!,
            priority: node.priority,
            dependencies: deps,
            module: 'core',
            retry: { initialDelay: 0.001, jitter: 0 },
          };
          switch (node.kind) {
            case 'sleep':
              return { ...base, action: 'sleep', parameters: { ms: 3 } };
            case 'fail':
              return { ...base, action: 'fail', maxRetries: 0 };
            case 'flaky':
              return { ...base, action: 'fail', parameters: { times: 1 }, maxRetries: 1 };
            default:
              return { ...base, action: 'noop' };
          }
        });
        const orch = engine.getTaskOrchestrator();
        const rec = recordEvents(engine);
        const mine = new Set(ids);
        // Limit concurrency for this run through the scheduler's own setting.
        const concurrency = limit;
        const scheduler = { running: 0, peak: 0 };
        await orch.addTasks(tasks);
        const stop = engine.registerEventHandler('*', (type, data) => {
          if (!('taskId' in data) || !mine.has(data.taskId)) return;
          if (type === 'task_started') scheduler.peak = Math.max(scheduler.peak, ++scheduler.running);
          else if (
            type === 'task_completed' ||
            type === 'task_failed' ||
            type === 'task_retrying' ||
            type === 'task_timed_out' ||
            type === 'task_cancelled'
          ) {
            scheduler.running--;
          }
        });
        await setLimit(engine, concurrency);
        const summary = await orch.startExecution();
        stop();
        rec.stop();
        const events = rec.events.filter(
          (e): e is BusEvent & { data: { taskId: string } } => 'taskId' in e.data && mine.has(e.data.taskId),
        );

        // Every task ends in exactly one terminal state, reported once.
        for (const id of ids) {
          const terminal = events.filter((e) => e.data.taskId === id && TERMINAL.has(e.type));
          expect(terminal).toHaveLength(1);
        }
        expect(summary.results.filter((r) => mine.has(r.taskId))).toHaveLength(ids.length);

        // No task starts before each of its dependencies completed; a task with a failed dependency is skipped.
        const completedAt = new Map<string, number>();
        const status = new Map(summary.results.map((r) => [r.taskId, r.status]));
        for (const e of events) {
          if (e.type === 'task_completed') completedAt.set(e.data.taskId, e.seq);
          if (e.type === 'task_started') {
            const task = tasks.find((t) => t.id === e.data.taskId)!;
            for (const d of task.dependencies ?? []) {
              const done = completedAt.get(d);
              expect(done, `${e.data.taskId} started before ${d} completed`).toBeDefined();
              expect(done!).toBeLessThan(e.seq);
            }
          }
        }
        for (const t of tasks) {
          const depsOk = (t.dependencies ?? []).every((d) => status.get(d) === 'completed');
          if (!depsOk) expect(status.get(t.id!)).toBe('skipped');
          else expect(status.get(t.id!)).not.toBe('skipped');
        }

        // Concurrency never exceeds the limit.
        expect(scheduler.peak).toBeLessThanOrEqual(concurrency);
      }),
      { numRuns: 25 },
    );
  });
});

async function setLimit(engine: OrchestrationEngine, limit: number): Promise<void> {
  await engine.tasks.setConcurrency(limit);
}
