/**
 * The engine's own lifecycle: `starting → running → draining → stopped` (or `failed`). The engine is the root
 * actor; component actors are invoked under `active` (so draining keeps them alive) and addressed by `systemId`.
 * Component logic is provided by the engine with `runtimeMachine.provide({ actors })`; the machine does no I/O.
 */
import { assign, fromCallback, sendTo, setup } from 'xstate';
import type { RuntimeState } from '../model/runtime.js';

/** Sent by the runtime to a component. */
export type ComponentControl = { type: 'component.drain'; graceMs: number };

/** Sent by a component to the runtime. */
/** `error`: the component could not drain cleanly (it still stopped); shutdown reports it after closing. */
export type ComponentReport = { type: 'component.drained'; component: string; error?: unknown };

export type RuntimeEvent =
  | { type: 'engine.started' }
  | { type: 'engine.failed'; error: unknown }
  | { type: 'engine.shutdown'; graceMs: number }
  | ComponentReport;

export type { RuntimeState };

/** The component actors the runtime supervises, by systemId. */
/** Started in this order: resources first, so recovered tasks find the resources they declared. */
export const COMPONENTS = [
  'resourceManager',
  'taskOrchestrator',
  'workflowManager',
  'sessions',
  'projectManager',
  'schedules',
  'triggers',
] as const;

const placeholder = fromCallback<ComponentControl>(() => undefined);

/** The engine lifecycle machine (see this module's description): `starting → running → draining → stopped`, or `failed`. */
export const runtimeMachine = setup({
  types: {
    context: {} as { drained: string[]; graceMs: number; error: unknown; drainError: unknown },
    events: {} as RuntimeEvent,
  },
  actors: {
    taskOrchestrator: placeholder,
    workflowManager: placeholder,
    resourceManager: placeholder,
    sessions: placeholder,
    projectManager: placeholder,
    schedules: placeholder,
    triggers: placeholder,
  },
  actions: {
    noteDrainError: assign({
      drainError: ({ context, event }) =>
        event.type === 'component.drained' && event.error !== undefined && context.drainError === null
          ? event.error
          : context.drainError,
    }),
  },
  guards: {
    lastToDrain: ({ context, event }) =>
      event.type === 'component.drained' && new Set([...context.drained, event.component]).size >= COMPONENTS.length,
  },
}).createMachine({
  id: 'runtime',
  initial: 'starting',
  context: { drained: [], graceMs: 0, error: null, drainError: null },
  states: {
    starting: {
      on: {
        'engine.started': 'active',
        'engine.failed': { target: 'failed', actions: assign({ error: ({ event }) => event.error }) },
        'engine.shutdown': 'stopped',
      },
    },
    active: {
      // `id` widened to string: TypeScript gives up checking an object literal whose three fields each range over every component.
      invoke: COMPONENTS.map((id: string) => ({
        id,
        systemId: id,
        src: id as (typeof COMPONENTS)[number],
        onError: {
          target: '#runtime.failed',
          actions: assign({ error: ({ event }) => (event as { error?: unknown }).error ?? null }),
        },
      })),
      on: { 'engine.failed': { target: '#runtime.failed', actions: assign({ error: ({ event }) => event.error }) } },
      initial: 'running',
      states: {
        running: {
          on: { 'engine.shutdown': { target: 'draining', actions: assign({ graceMs: ({ event }) => event.graceMs }) } },
        },
        draining: {
          entry: COMPONENTS.map((id) =>
            sendTo(id, ({ context }): ComponentControl => ({ type: 'component.drain', graceMs: context.graceMs })),
          ),
          on: {
            'component.drained': [
              { guard: 'lastToDrain', target: '#runtime.stopped', actions: 'noteDrainError' },
              {
                actions: [
                  assign({ drained: ({ context, event }) => [...context.drained, event.component] }),
                  'noteDrainError',
                ],
              },
            ],
          },
        },
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});

/** The lifecycle state a runtime snapshot is in. */
export function runtimeStateOf(value: unknown): RuntimeState {
  if (value === 'starting' || value === 'stopped' || value === 'failed') return value;
  if (typeof value === 'object' && value !== null && 'active' in value) {
    return (value as { active: string }).active === 'draining' ? 'draining' : 'running';
  }
  return 'failed';
}
