/**
 * The lifecycle of one workflow run: `running → succeeded | failed`, or `running → cancelling → cancelled`.
 * Step-level progress is the run executor's bookkeeping; this machine decides what the run as a whole is, and asks
 * for the effects of ending (`announce`) by name. One independent actor per run (never children of one parent).
 */
import { assign, setup } from 'xstate';

export type WorkflowRunEvent =
  /** Every step has ended; `failed` when one failed for good. */
  | { type: 'run.settled'; failed: boolean }
  | { type: 'run.cancel'; reason: string };

export interface WorkflowRunContext {
  cancelReason: string | null;
}

export const workflowRunMachine = setup({
  types: { context: {} as WorkflowRunContext, events: {} as WorkflowRunEvent },
  actions: {
    /** Stop starting steps and cancel the running ones (provided by the executor). */
    cancelSteps: () => {},
    /** Publish the end of the run and resolve its callers (provided by the executor). */
    announce: (_, _params: { status: 'succeeded' | 'failed' | 'cancelled' }) => {},
  },
}).createMachine({
  id: 'workflowRun',
  initial: 'running',
  context: { cancelReason: null },
  states: {
    running: {
      on: {
        'run.settled': [
          { guard: ({ event }) => event.failed, target: 'failed' },
          { target: 'succeeded' },
        ],
        'run.cancel': { target: 'cancelling', actions: [assign({ cancelReason: ({ event }) => event.reason }), 'cancelSteps'] },
      },
    },
    cancelling: {
      on: { 'run.settled': 'cancelled' },
    },
    succeeded: { type: 'final', entry: { type: 'announce', params: { status: 'succeeded' } } },
    failed: { type: 'final', entry: { type: 'announce', params: { status: 'failed' } } },
    cancelled: { type: 'final', entry: { type: 'announce', params: { status: 'cancelled' } } },
  },
});
