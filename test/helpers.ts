import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BusEvent, EngineOptions, EventName, OrchestrationEngine } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';

/** An engine for one test file; shut down in afterAll/afterEach by the caller. Two threads unless asked. */
export function testEngine(options: EngineOptions = {}): OrchestrationEngine {
  return createOrchestrationEngine({ threads: 2, agingMs: 0, workflowDirs: [], ...options });
}

/**
 * What a test file leaves behind until `cleanup()` (call it in `afterAll`): the engines given to `track` (shut
 * down) and the folders `tempDir` made under the OS temp dir, named `cmx-<label>-…` (removed).
 */
export function leftovers(label: string): {
  tempDir: () => Promise<string>;
  track: (e: OrchestrationEngine) => OrchestrationEngine;
  cleanup: () => Promise<void>;
} {
  const dirs: string[] = [];
  const engines: OrchestrationEngine[] = [];
  return {
    tempDir: async () => {
      const d = await mkdtemp(join(tmpdir(), `cmx-${label}-`));
      dirs.push(d);
      return d;
    },
    track: (e) => {
      engines.push(e);
      return e;
    },
    cleanup: async () => {
      await Promise.all(engines.map((e) => e.shutdown({ graceMs: 0 })));
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

/** Two workflow steps: `first` (given without its name), then `second`, a `core.echo` of its output. */
export function thenEcho(first: { module: string; action: string; parameters: Record<string, unknown> }) {
  return [
    { name: 'first', ...first },
    {
      name: 'second',
      module: 'core',
      action: 'echo',
      parameters: { value: '{{first.output}}' },
      dependencies: ['first'],
    },
  ];
}

/** A workflow definition: a `core.sleep` of `ms` that outputs "slept", then an echo of it. */
export const sleepThenEcho = (name: string, ms: number) => ({
  name,
  steps: thenEcho({ module: 'core', action: 'sleep', parameters: { ms, value: 'slept' } }),
});

/** Records every event of an engine, in order. */
export function recordEvents(engine: OrchestrationEngine): {
  events: BusEvent[];
  of: <K extends EventName>(type: K) => Extract<BusEvent, { type: K }>[];
  stop: () => void;
} {
  const events: BusEvent[] = [];
  const sub = engine.bus.events$().subscribe((e) => events.push(e));
  const of = <K extends EventName>(type: K) =>
    events.filter((e): e is Extract<BusEvent, { type: K }> => e.type === type);
  return { events, of, stop: () => sub.unsubscribe() };
}

/** Resolves with the first event matching `pred`. */
export function nextEvent(engine: OrchestrationEngine, pred: (e: BusEvent) => boolean): Promise<BusEvent> {
  return new Promise((resolve) => {
    const sub = engine.bus.events$().subscribe((e) => {
      if (pred(e)) {
        sub.unsubscribe();
        resolve(e);
      }
    });
  });
}

/** Names of the tasks in the order they started. */
export function startOrder(events: BusEvent[]): string[] {
  return events.filter((e) => e.type === 'task_started').map((e) => (e.data as { name: string }).name);
}
