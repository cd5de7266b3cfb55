/**
 * The trusted way from the workflow manager into the task scheduler, inside one engine. A workflow step becomes its
 * task by a direct call instead of a `task.execute` request on the bus, so a dependent step that becomes ready is
 * dispatched in the same turn as the result that released it. A plain step's task is built by the workflow layer
 * from the stored step and enters without intake (stepEntry.ts); parameters that `createWorkflow` already checked
 * against the action's schema are not checked again. Parameters holding templates are: what a template resolves to
 * is only known at run time, and a value that breaks the schema is refused naming the field, as on the bus. (The
 * worker thread checks every attempt's parameters once more either way.)
 */
import type { TaskInput, TaskResult } from '../../model/task.js';
import type { StepDone, StepTask } from './stepEntry.js';

export type { StepDone, StepTask } from './stepEntry.js';

/** Runs one step's task to its end; `paramsChecked`: its parameters are those validated with the definition. */
export type StepExecute = (task: TaskInput, paramsChecked: boolean) => Promise<TaskResult>;

/** Adds and starts a step's task built from the stored step; its end is told to `done`. Throws when refused. */
export type StepStart = (task: StepTask, done: StepDone) => void;

export class StepIntake {
  #execute: StepExecute | null = null;
  #start: StepStart | null = null;

  /** The scheduler serves steps. Returns a function that stops it (steps then go over the bus). */
  serve(execute: StepExecute, start: StepStart): () => void {
    this.#execute = execute;
    this.#start = start;
    return () => {
      if (this.#execute === execute) this.#execute = null;
      if (this.#start === start) this.#start = null;
    };
  }

  /** Whether a scheduler serves steps (when not, they go over the bus as task inputs). */
  get serving(): boolean {
    return this.#start !== null;
  }

  /** Runs the step's task directly; null when no scheduler serves (the caller then uses the bus). */
  execute(task: TaskInput, paramsChecked: boolean): Promise<TaskResult> | null {
    return this.#execute ? this.#execute(task, paramsChecked) : null;
  }

  /**
   * Adds and starts a step's task built from the stored step (stepEntry.ts); false when no scheduler serves (the
   * caller then uses {@link execute} or the bus). Throws what adding it throws (a shutdown, a failing store, a
   * refused task).
   */
  start(task: StepTask, done: StepDone): boolean {
    if (!this.#start) return false;
    this.#start(task, done);
    return true;
  }
}
