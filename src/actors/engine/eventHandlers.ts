/** Event handlers registered on an engine (`registerEventHandler`): called with `(eventName, data)`, never breaking it. */
import type { MessageBus } from '../../bus/bus.js';
import type { EventMap, EventName } from '../../bus/protocol.js';
import { serializeError } from '../../errors.js';

/** Receives `(eventName, data)`; may be async. A handler that throws never breaks the engine. */
export type EventHandler<K extends EventName = EventName> = (event: K, data: EventMap[K]) => void | Promise<void>;

/**
 * Calls `handler` for every event of that name (`'*'` for all) until the returned function is called. A handler
 * that throws or rejects is reported as a `handler_error` event (a failing `handler_error` handler is not reported).
 */
export function subscribeHandler<K extends EventName>(
  bus: MessageBus,
  name: K | '*',
  handler: EventHandler<K>,
): () => void {
  const report = (err: unknown): void => {
    if (name === 'handler_error') return;
    bus.publish('handler_error', { event: String(name), error: serializeError(err) });
  };
  const sub = bus.events$(name === '*' ? undefined : name).subscribe((event) => {
    try {
      const out = (handler as EventHandler)(event.type, event.data);
      if (out && typeof out.then === 'function') out.then(undefined, report);
    } catch (err) {
      report(err);
    }
  });
  return () => sub.unsubscribe();
}
