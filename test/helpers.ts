import type { BusEvent, EngineOptions, EventName, OrchestrationEngine } from '../src/index.js';
import { createOrchestrationEngine } from '../src/index.js';

/** An engine for one test file; shut down in afterAll/afterEach by the caller. Two threads unless asked. */
export function testEngine(options: EngineOptions = {}): OrchestrationEngine {
  return createOrchestrationEngine({ threads: 2, agingMs: 0, workflowDirs: [], ...options });
}

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
