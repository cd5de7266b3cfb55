/**
 * Documented size limits of definitions, conditions and task inputs (docs/limits.md). Inputs past them are refused
 * with a `ValidationError` naming the field and the limit; validation and submission read the same numbers.
 */

/** The longest task id, task name, session id (and the task-name part of anything derived from them). */
export const MAX_ID_LENGTH = 200;

/** A run id is a uuid; a step's task id is `<runId>.<step name>`. */
const RUN_ID_LENGTH = 36;

/** The documented size limits (docs/limits.md), by name: past one, an input is refused naming the field and the limit. */
export const LIMITS = {
  /** Characters of a task id, task name or session id. */
  maxIdLength: MAX_ID_LENGTH,
  /** Characters of a step name: its task id `<runId>.<step>` must fit `maxIdLength`. */
  maxStepNameLength: MAX_ID_LENGTH - RUN_ID_LENGTH - 1,
  /** Characters of an `idempotencyKey`. */
  maxIdempotencyKeyLength: 500,
  /** Characters of a step's `when` condition. */
  maxConditionLength: 4096,
  /** Characters of a parameter string that holds a `{{template}}` (plain strings have `maxStringLength`). */
  maxTemplatedStringLength: 1_000_000,
  /** Characters between `{{` and `}}` of one template. */
  maxTemplateLength: 1024,
  /** Steps of one workflow. */
  maxSteps: 100_000,
  /**
   * Bytes of one task result, estimated as its JSON would be (binary data as base64). A larger result fails the
   * task (non-retryable) with a message naming this limit: write large outputs to a file and return its path.
   */
  maxResultBytes: 16 * 1024 * 1024,
  /** Nesting of sub-workflow runs: a top-level run is depth 1; a child past this depth fails its step. */
  maxWorkflowDepth: 10,
  /** Items of one forEach step, unless the engine's `maxForEachItems` option says otherwise. */
  maxForEachItems: 10_000,
  /**
   * Levels of objects, arrays, Maps and Sets in one task result (parameters have `PAYLOAD_LIMITS.maxDepth`). A deeper
   * result fails the task (non-retryable) naming this limit: Node silently drops a message about twice as deep.
   */
  maxResultDepth: 1000,
  /**
   * Paths in one result's `written` list (the files an action declares it wrote). A longer list, or one that is not
   * an array of paths, fails the task (non-retryable) naming the field: declare the folder instead of each file.
   */
  maxWrittenFiles: 10_000,
  /** Characters of one path in a result's `written` list. */
  maxWrittenPathLength: 4096,
} as const;

/** Names that would collide with `Object.prototype` wherever a name becomes a key: refused as step names. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
