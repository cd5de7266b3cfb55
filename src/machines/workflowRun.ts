/**
 * The lifecycle of one workflow run: `running → succeeded | failed`, or `running → cancelling → cancelled`.
 * Step-level progress is the run executor's bookkeeping; this machine decides what the run as a whole is, keeps how
 * and when it ended in its context, and asks for the effects of ending (`announce`) by name. One independent actor
 * per run (never children of one parent).
 */
import { assign, setup } from 'xstate';
import type { TerminalRunStatus } from '../model/workflow.js';

export type WorkflowRunEvent =
  /** Every step has ended (at `at`, epoch ms); `failed` when one failed for good. */
  { type: 'run.settled'; failed: boolean; at: number } | { type: 'run.cancel'; reason: string };

export interface WorkflowRunContext {
  cancelReason: string | null;
  /** How the run ended; null while it runs. */
  outcome: TerminalRunStatus | null;
  /** When its last step ended (epoch ms); null while it runs. */
  endedAt: number | null;
}

/** The run lifecycle machine (see this module's description): `running → succeeded | failed`, or `running → cancelling → cancelled`. */
export const workflowRunMachine = setup({
  types: { context: {} as WorkflowRunContext, events: {} as WorkflowRunEvent },
  actions: {
    /** Stop starting steps and cancel the running ones (provided by the executor). */
    cancelSteps: () => {},
    /** Publish the end of the run and resolve its callers (provided by the executor); the context says how it ended. */
    announce: () => {},
    settle: assign({ endedAt: ({ event }) => (event.type === 'run.settled' ? event.at : null) }),
    end: assign((_, params: { status: TerminalRunStatus }) => ({ outcome: params.status })),
  },
}).createMachine({
  id: 'workflowRun',
  initial: 'running',
  context: { cancelReason: null, outcome: null, endedAt: null },
  states: {
    running: {
      on: {
        'run.settled': [
          {
            /** A step failed for good: the run failed. */
            guard: ({ event }) => event.failed,
            target: 'failed',
            actions: 'settle',
          },
          { target: 'succeeded', actions: 'settle' },
        ],
        'run.cancel': {
          target: 'cancelling',
          actions: [assign({ cancelReason: ({ event }) => event.reason }), 'cancelSteps'],
        },
      },
    },
    cancelling: {
      on: { 'run.settled': { target: 'cancelled', actions: 'settle' } },
    },
    succeeded: { type: 'final', entry: [{ type: 'end', params: { status: 'succeeded' } }, 'announce'] },
    failed: { type: 'final', entry: [{ type: 'end', params: { status: 'failed' } }, 'announce'] },
    cancelled: { type: 'final', entry: [{ type: 'end', params: { status: 'cancelled' } }, 'announce'] },
  },
});
