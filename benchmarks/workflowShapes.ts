/**
 * The workflow benchmark's DAG shapes: chain, fan-out/fan-in, seeded layered DAG, the templated definitions of the
 * validation case, and the same steps as plain orchestrator tasks.
 */
import type { TaskInput } from '../src/model/task.js';
import type { WorkflowStep } from '../src/model/workflow.js';

/** mulberry32: a small seeded PRNG, so the layered DAG is the same on every run with the same seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const noopStep = (name: string, dependencies: string[] = []): WorkflowStep => ({
  name,
  module: 'core',
  action: 'noop',
  dependencies,
});

/** `s0 <- s1 <- ... <- s(n-1)`. */
export function chainSteps(n: number): WorkflowStep[] {
  return Array.from({ length: n }, (_, i) => noopStep(`s${i}`, i === 0 ? [] : [`s${i - 1}`]));
}

/** `root`, then `m1 .. m(n-2)` depending on it, then `sink` depending on all of those. */
export function fanSteps(n: number): WorkflowStep[] {
  const middle = Array.from({ length: n - 2 }, (_, i) => noopStep(`m${i + 1}`, ['root']));
  return [
    noopStep('root'),
    ...middle,
    noopStep(
      'sink',
      middle.map((s) => s.name),
    ),
  ];
}

/** `layers` x `width` steps; each step of layer L > 0 depends on 2 or 3 distinct random steps of layer L - 1. */
export function layeredSteps(layers: number, width: number, seed: number): { steps: WorkflowStep[]; edges: number } {
  const random = prng(seed);
  const steps: WorkflowStep[] = [];
  let edges = 0;
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < width; i++) {
      const deps = new Set<string>();
      if (l > 0) {
        const want = 2 + Math.floor(random() * 2);
        while (deps.size < want) deps.add(`l${l - 1}_${Math.floor(random() * width)}`);
      }
      edges += deps.size;
      steps.push(noopStep(`l${l}_${i}`, [...deps]));
    }
  }
  return { steps, edges };
}

/** A chain whose every 10th step is a `core.echo` reading its predecessor through templates. */
export function templatedChainSteps(n: number): WorkflowStep[] {
  return Array.from({ length: n }, (_, i): WorkflowStep => {
    if (i === 0) return { name: 's0', module: 'core', action: 'echo', parameters: { value: 1 } };
    const prev = `s${i - 1}`;
    if (i % 10 === 0) {
      return {
        name: `s${i}`,
        module: 'core',
        action: 'echo',
        parameters: { value: `{{${prev}.output}}`, label: `after ${prev}: {{${prev}.status}}` },
        dependencies: [prev],
      };
    }
    return noopStep(`s${i}`, [prev]);
  });
}

/** A root and n - 1 steps depending on it; every 10th a `core.echo` reading the root's output through a template. */
export function templatedFanOutSteps(n: number): WorkflowStep[] {
  const leaves = Array.from({ length: n - 1 }, (_, i): WorkflowStep =>
    (i + 1) % 10 === 0
      ? {
          name: `f${i + 1}`,
          module: 'core',
          action: 'echo',
          parameters: { value: '{{root.output}}', label: 'root was {{root.status}}' },
          dependencies: ['root'],
        }
      : noopStep(`f${i + 1}`, ['root']),
  );
  return [{ name: 'root', module: 'core', action: 'echo', parameters: { value: 1 } }, ...leaves];
}

/** The steps as orchestrator tasks with the same dependencies (ids prefixed, so one engine can run them again). */
export function stepsAsTasks(steps: readonly WorkflowStep[], prefix: string): TaskInput[] {
  return steps.map((s) => ({
    id: `${prefix}${s.name}`,
    name: s.name,
    module: s.module ?? '',
    action: s.action ?? '',
    parameters: {},
    dependencies: (s.dependencies ?? []).map((d) => `${prefix}${d}`),
  }));
}
