/**
 * The trusted way from the workflow manager into the task scheduler, inside one engine. A workflow step becomes its
 * task by a direct call instead of a `task.execute` request on the bus, so a dependent step that becomes ready is
 * dispatched in the same turn as the result that released it; and parameters that `createWorkflow` already checked
 * against the action's schema are not checked again. Parameters holding templates are: what a template resolves to
 * is only known at run time, and a value that breaks the schema is refused naming the field, as on the bus. (The
 * worker thread checks every attempt's parameters once more either way.)
 */
import type { TaskInput, TaskResult } from '../../model/task.js';

/** Runs one step's task to its end; `paramsChecked`: its parameters are those validated with the definition. */
export type StepExecute = (task: TaskInput, paramsChecked: boolean) => Promise<TaskResult>;

export class StepIntake {
  #execute: StepExecute | null = null;

  /** The scheduler serves steps. Returns a function that stops it (steps then go over the bus). */
  serve(execute: StepExecute): () => void {
    this.#execute = execute;
    return () => {
      if (this.#execute === execute) this.#execute = null;
    };
  }

  /** Runs the step's task directly; null when no scheduler serves (the caller then uses the bus). */
  execute(task: TaskInput, paramsChecked: boolean): Promise<TaskResult> | null {
    return this.#execute ? this.#execute(task, paramsChecked) : null;
  }
}
