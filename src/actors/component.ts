/**
 * The skeleton every component actor shares: build the component over the engine's parts, recover what the store
 * holds (and say so with a `recovery` event), serve the component's commands on the bus, drain on the runtime's
 * `component.drain`, and release everything when the actor stops.
 */
import { fromCallback } from 'xstate';
import type { CommandHandlers } from '../bus/bus.js';
import type { Component } from '../bus/protocol.js';
import type { EventMap } from '../model/events.js';
import type { ComponentControl, ComponentReport } from '../machines/runtime.js';
import type { ComponentDeps } from './deps.js';

/** What a component restored at start: the `recovery` event without the fields the skeleton fills in. */
export type Recovered = Omit<EventMap['recovery'], 'component' | 'store' | 'durationMs'>;

/** The handlers of each component an actor serves, keyed by component (`{ task: { 'task.add': ... } }`). */
export type ServedHandlers<C extends Component> = { [K in C]: CommandHandlers<K> };

/** One component, built: what it serves and how it recovers, drains and stops. */
export interface ComponentParts<C extends Component> {
  /**
   * One handler per command of each component it serves, checked by the compiler (`{ session: sessionHandlers(s) }`;
   * the task orchestrator serves `task` and `ratelimit`).
   */
  handlers: ServedHandlers<C>;
  /**
   * Restores what the store holds, before the handlers are served; with a durable store its answer goes out as the
   * `recovery` event (null: nothing to report).
   */
  recover?: (() => Recovered | null) | undefined;
  /** Stops taking work and lets what runs end (within `graceMs`); the actor reports drained when it settles. */
  drain?: ((graceMs: number) => void | Promise<void>) | undefined;
  /** Releases what the component holds, after it stops serving. */
  dispose?: (() => void) | undefined;
}

/**
 * The actor logic of one component, named by its systemId. `build` runs when the actor starts.
 *
 * @example
 * export const sessionsLogic = (deps: ComponentDeps) =>
 *   componentLogic('sessions', deps, () => {
 *     const sessions = new SessionManager(deps.bus, deps.ledger);
 *     return { handlers: { session: sessionHandlers(sessions) }, drain: () => sessions.drain() };
 *   });
 */
export function componentLogic<C extends Component>(name: string, deps: ComponentDeps, build: () => ComponentParts<C>) {
  return fromCallback<ComponentControl>(({ sendBack, receive }) => {
    const parts = build();
    if (parts.recover) {
      const t0 = performance.now();
      const recovered = parts.recover();
      if (recovered && deps.store.persistent)
        deps.bus.publish('recovery', {
          component: name,
          store: deps.store.location,
          ...recovered,
          durationMs: performance.now() - t0,
        });
    }
    const stops: Array<() => void> = [];
    for (const component in parts.handlers) stops.push(deps.bus.serve(component, parts.handlers[component]));
    receive((event) => {
      if (event.type !== 'component.drain') return;
      const drained: ComponentReport = { type: 'component.drained', component: name };
      let draining: void | Promise<void>;
      try {
        draining = parts.drain?.(event.graceMs);
      } catch (error) {
        sendBack({ ...drained, error });
        return;
      }
      // Whatever way the drain ends, the runtime hears of it: a rejected drain must not keep shutdown waiting.
      if (draining)
        draining.then(
          () => sendBack(drained),
          (error: unknown) => sendBack({ ...drained, error }),
        );
      else sendBack(drained);
    });
    return () => {
      for (const stop of stops) stop();
      parts.dispose?.();
    };
  });
}
