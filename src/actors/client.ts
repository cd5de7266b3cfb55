import type { MessageBus } from '../bus/bus.js';

/**
 * The base of the seed's facades (`getTaskOrchestrator()`, `getWorkflowManager()`, `getResourceManager()`): thin
 * clients of the bus that wait, on their first calls, for the engine to finish starting.
 */
export abstract class BusClient {
  protected readonly bus: MessageBus;
  readonly #ready: () => Promise<void> | null;

  /** @param ready returns a promise while the engine is starting, null once it runs. */
  constructor(bus: MessageBus, ready: () => Promise<void> | null) {
    this.bus = bus;
    this.#ready = ready;
  }

  /** Runs `fn` (a bus request) once the engine serves requests. */
  protected async request<T>(fn: () => Promise<T>): Promise<T> {
    const waiting = this.#ready();
    if (waiting) await waiting;
    return fn();
  }
}
