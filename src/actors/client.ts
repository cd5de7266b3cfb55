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

  /**
   * Runs `fn` (a bus request) once the engine serves requests. Not an `async` function: once the engine runs, the
   * caller gets `fn`'s own promise, without the turns an async wrapper adds on every call.
   */
  protected request<T>(fn: () => Promise<T>): Promise<T> {
    const waiting = this.#ready();
    if (waiting) return waiting.then(fn);
    try {
      return fn();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
