/**
 * The task lifecycle as an XState v5 machine. It is the single source of truth for which event
 * moves a task where and which effects that asks for; it holds no I/O. The effects are named actions
 * (`enqueue`, `runAction`, `abortRun`, `scheduleRetry`, `finish`, ...) that the scheduler implements.
 *
 * The scheduler does not run an actor per task (thousands of children slow a parent down; see TOOLING_NOTES.md):
 * it steps each task through {@link compileTaskMachine}'s table, which is read off this machine's own transition
 * definitions and checked against XState's `transition()` by the tests.
 */
import { assign, setup } from 'xstate';
import type { TaskStatus } from '../model/task.js';

export interface TaskMachineContext {
  attempts: number;
  maxRetries: number;
}

export type TaskMachineEvent =
  | { type: 'task.deps_met' }
  | { type: 'task.dep_failed' }
  | { type: 'task.start' }
  | { type: 'task.succeed' }
  | { type: 'task.fail'; retryable: boolean }
  | { type: 'task.timeout' }
  | { type: 'task.backoff_elapsed' }
  | { type: 'task.cancel' }
  /** Recovery: the task was running when the previous engine stopped; it queues to run again. */
  | { type: 'task.interrupted' }
  /** Admission refused it for good (its resources can never fit): it fails without running. */
  | { type: 'task.refuse' }
  /**
   * Its attempt never ran to an outcome of its own (a batch handed it back unstarted, or lost its thread to a
   * batch-mate): it queues again and the attempt does not count.
   */
  | { type: 'task.requeue' };

/** Effects the machine asks for, implemented by the scheduler. */
export type TaskEffect = 'enqueue' | 'dequeue' | 'runAction' | 'abortRun' | 'scheduleRetry' | 'clearRetry' | 'finish';

/** Guards, shared by the XState machine and the compiled table so both decide alike. */
export const taskGuards = {
  canRetry: (context: TaskMachineContext, event: TaskMachineEvent): boolean =>
    event.type === 'task.fail' && event.retryable && context.attempts <= context.maxRetries,
} as const;
export type TaskGuard = keyof typeof taskGuards;

/**
 * The machine's context updates, shared by its `assign` actions and the compiled table: a step returns the next
 * context, so nothing outside the machine counts attempts by hand.
 */
export const taskAssignments = {
  countAttempt: (context: TaskMachineContext): TaskMachineContext => ({
    attempts: context.attempts + 1,
    maxRetries: context.maxRetries,
  }),
  uncountAttempt: (context: TaskMachineContext): TaskMachineContext => ({
    attempts: context.attempts - 1,
    maxRetries: context.maxRetries,
  }),
} as const;
export type TaskAssignment = keyof typeof taskAssignments;

const effect = (): void => {};

/** The task lifecycle machine (see this module's description); the scheduler steps tasks through its compiled table. */
export const taskMachine = setup({
  types: {
    context: {} as TaskMachineContext,
    events: {} as TaskMachineEvent,
    input: {} as { maxRetries: number; attempts?: number },
  },
  actions: {
    enqueue: effect,
    dequeue: effect,
    countAttempt: assign(({ context }) => taskAssignments.countAttempt(context)),
    uncountAttempt: assign(({ context }) => taskAssignments.uncountAttempt(context)),
    runAction: effect,
    abortRun: effect,
    scheduleRetry: effect,
    clearRetry: effect,
    finish: effect,
  },
  guards: {
    canRetry: ({ context, event }) => taskGuards.canRetry(context, event),
  },
}).createMachine({
  id: 'task',
  initial: 'pending',
  /** Attempts so far (0 for a new task) and the retries allowed. */
  context: ({ input }) => ({ attempts: input.attempts ?? 0, maxRetries: input.maxRetries }),
  states: {
    pending: {
      on: {
        'task.deps_met': { target: 'ready', actions: 'enqueue' },
        'task.dep_failed': { target: 'skipped', actions: 'finish' },
        'task.cancel': { target: 'cancelled', actions: 'finish' },
      },
    },
    ready: {
      on: {
        'task.start': { target: 'running', actions: ['countAttempt', 'runAction'] },
        'task.refuse': { target: 'failed', actions: 'finish' },
        'task.cancel': { target: 'cancelled', actions: ['dequeue', 'finish'] },
      },
    },
    running: {
      on: {
        'task.succeed': { target: 'completed', actions: 'finish' },
        'task.fail': [
          { guard: 'canRetry', target: 'retrying', actions: 'scheduleRetry' },
          { target: 'failed', actions: 'finish' },
        ],
        'task.timeout': { target: 'timed_out', actions: ['abortRun', 'finish'] },
        'task.cancel': { target: 'cancelled', actions: ['abortRun', 'finish'] },
        'task.interrupted': { target: 'ready', actions: 'enqueue' },
        'task.requeue': { target: 'ready', actions: ['uncountAttempt', 'enqueue'] },
      },
    },
    retrying: {
      on: {
        'task.backoff_elapsed': { target: 'ready', actions: 'enqueue' },
        'task.cancel': { target: 'cancelled', actions: ['clearRetry', 'finish'] },
      },
    },
    completed: { type: 'final' },
    failed: { type: 'final' },
    timed_out: { type: 'final' },
    cancelled: { type: 'final' },
    skipped: { type: 'final' },
  },
});

interface CompiledTransition {
  guard: TaskGuard | null;
  target: TaskStatus;
  /** The context updates of the transition, in order. */
  assigns: readonly TaskAssignment[];
  /** Its other actions: the effects the scheduler carries out, in order. */
  actions: readonly TaskEffect[];
}

/** One step of the compiled machine: where the task goes, its context after the step, and which effects run. */
export interface TaskStep {
  target: TaskStatus;
  context: TaskMachineContext;
  actions: readonly TaskEffect[];
}

export type TaskTable = Readonly<Record<string, Readonly<Record<string, readonly CompiledTransition[]>>>>;

function nameOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string') {
    return (value as { type: string }).type;
  }
  throw new Error('taskMachine: only named guards and actions can be compiled');
}

/**
 * Reads the machine's transitions into a lookup table: state → event type → candidate transitions. Only named
 * guards and actions are allowed in the machine, so the table means exactly what the machine means.
 */
export function compileTaskMachine(machine: typeof taskMachine = taskMachine): TaskTable {
  const table: Record<string, Record<string, CompiledTransition[]>> = {};
  for (const [stateName, node] of Object.entries(machine.root.states)) {
    const row: Record<string, CompiledTransition[]> = {};
    for (const [eventType, defs] of node.transitions) {
      row[eventType] = defs.map((d) => {
        const target = d.target?.[0]?.key;
        if (!target) throw new Error(`taskMachine: ${stateName} on ${eventType} has no target`);
        const names = d.actions.map(nameOf);
        return {
          guard: d.guard ? (nameOf(d.guard) as TaskGuard) : null,
          target: target as TaskStatus,
          assigns: names.filter((n): n is TaskAssignment => n in taskAssignments),
          actions: names.filter((n) => !(n in taskAssignments)) as TaskEffect[],
        };
      });
    }
    table[stateName] = row;
  }
  return table;
}

const defaultTable = compileTaskMachine();

/**
 * Steps a task: the transition the machine would take (its target, the context its assigns leave and its effects),
 * or null when the event means nothing in that state.
 */
export function stepTask(
  status: TaskStatus,
  context: TaskMachineContext,
  event: TaskMachineEvent,
  table: TaskTable = defaultTable,
): TaskStep | null {
  const candidates = table[status]?.[event.type];
  if (!candidates) return null;
  for (const c of candidates) {
    if (c.guard !== null && !taskGuards[c.guard](context, event)) continue;
    let next = context;
    for (const a of c.assigns) next = taskAssignments[a](next);
    return { target: c.target, context: next, actions: c.actions };
  }
  return null;
}
