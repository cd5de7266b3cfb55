/**
 * Puts a local bus on NATS: every component of the local bus is served over the NATS bus (each command is
 * parsed at the boundary by the NATS bus, then forwarded as a local request), and every local event is
 * republished on NATS. This is how a daemon exposes an engine, whose own components talk over its in-process bus.
 */
import { serializeError } from '../errors.js';
import type { MessageBus, Unsubscribe } from './bus.js';
import type { NatsBus } from './nats.js';
import type { Component } from './protocol.js';
import { componentOf } from './protocol.js';
import { COMMAND_TYPES } from './schemas.js';

/** What `bridgeToNats` puts on NATS: which components it serves and whether local events are republished. */
export interface BridgeOptions {
  /** Components to serve (default: every component of the protocol). */
  components?: readonly Component[] | undefined;
  /** Republish the local events on NATS (default true). */
  events?: boolean | undefined;
}

/**
 * Serves `local`'s components over `nats` and republishes its events. Returns the function that stops both.
 * An event NATS refuses (over `max_payload`, or the connection closed for good) is replaced on NATS by a
 * `handler_error` naming it, when that can still be sent.
 */
export function bridgeToNats(local: MessageBus, nats: NatsBus, options: BridgeOptions = {}): Unsubscribe {
  const components = options.components ?? [...new Set(COMMAND_TYPES.map(componentOf))];
  const stops = components.map((component) => nats.forward(component, (type, payload) => local.request(type, payload)));
  const sub =
    options.events === false
      ? null
      : local.events$().subscribe((event) => {
          try {
            nats.publish(event.type, event.data);
          } catch (err) {
            // Never throw into the local bus: a throwing subscriber would surface as an uncaught error.
            try {
              if (event.type !== 'handler_error')
                nats.publish('handler_error', { event: event.type, error: serializeError(err) });
            } catch {
              // NATS is closed for good; its status says so.
            }
          }
        });
  return () => {
    for (const stop of stops) stop();
    sub?.unsubscribe();
  };
}
