/**
 * Shared by the hostile-input tests: the fastest of several timed runs (load on a shared machine only ever adds
 * time, so the minimum is the honest measure), for ratio checks that tell linear from quadratic growth; and the
 * many no-op task inputs a large addTasks is made of.
 */
import { performance } from 'node:perf_hooks';
import type { TaskPriority } from '../../src/model/task.js';

/** `n` `core.noop` task inputs with ids `<prefix>-0` … `<prefix>-<n-1>`, at `priority` when given. */
export function noops(
  n: number,
  prefix: string,
  priority?: TaskPriority,
): { id: string; module: string; action: string; priority?: TaskPriority }[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    module: 'core',
    action: 'noop',
    ...(priority ? { priority } : {}),
  }));
}

/** The shortest of `runs` timings of `fn`, in ms. */
export function fastest(fn: () => unknown, runs = 7): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/**
 * How much slower `make(big)` is than `make(small)` (inputs `big / small` times larger): about that factor when
 * the work is linear, its square when quadratic. Retries a few times before giving the smallest ratio seen, so one
 * stall of a loaded machine does not decide.
 */
export function growth<T>(make: (n: number) => T, run: (input: T) => unknown, small: number, big: number): number {
  const a = make(small);
  const b = make(big);
  run(a); // warm up
  run(b);
  let best = Infinity;
  for (let attempt = 0; attempt < 3; attempt++) {
    best = Math.min(
      best,
      fastest(() => run(b)) /
        Math.max(
          fastest(() => run(a)),
          0.001,
        ),
    );
    if (best < (big / small) * 2) break;
  }
  return best;
}
