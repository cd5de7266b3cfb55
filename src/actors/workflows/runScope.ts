/**
 * What a run's templates see: its parameters, the outputs, errors and statuses of its ended steps, its project, and
 * the artifacts its ended steps made; and what a step's task is given of them (upstream outputs and artifacts).
 */
import type { ArtifactRef, UpstreamArtifacts } from '../../model/artifacts.js';
import { artifactPath } from '../../model/artifacts.js';
import type { TaskInput } from '../../model/task.js';
import type { StepResult, WorkflowStep } from '../../model/workflow.js';
import type { RunProject } from '../../model/run.js';
import type { TemplateScope } from '../../workflows/template.js';
import { evaluateCondition, resolveTemplates } from '../../workflows/template.js';

export class RunScope {
  readonly #runId: string;
  readonly #scope: TemplateScope;
  /** The artifacts of ended steps, step → name → ref. */
  readonly #artifacts = new Map<string, Record<string, ArtifactRef>>();

  constructor(runId: string, params: Record<string, unknown>, project: RunProject | null) {
    this.#runId = runId;
    this.#scope = { params, steps: {}, ...(project ? { project: { ...project } } : {}) };
  }

  /** Replaces the parameters templates read (a run that has not started takes new ones). */
  set params(params: Record<string, unknown>) {
    this.#scope.params = params;
  }

  /** Resolves the templates in `value`; `item` is a forEach item and its index (`{{item}}`). Throws naming the problem. */
  resolve(value: unknown, item?: { value: unknown; index: number }): unknown {
    return resolveTemplates(value, item ? { ...this.#scope, item } : this.#scope);
  }

  /** Evaluates a step's `when`. Throws naming the problem. */
  holds(when: string): boolean {
    return evaluateCondition(when, this.#scope);
  }

  /** What templates see of an ended step; its artifacts are named by their path in a consuming step's folder. */
  record(name: string, r: StepResult): void {
    const entry: { output: unknown; error: unknown; status: string; artifacts?: Record<string, string> } = {
      output: r.result,
      error: r.error,
      status: r.status,
    };
    if (r.status === 'completed' && r.artifacts?.length) {
      const refs: Record<string, ArtifactRef> = Object.create(null) as Record<string, ArtifactRef>;
      const paths: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const a of r.artifacts) {
        refs[a.name] = a;
        paths[a.name] = artifactPath(this.#runId, name, a);
      }
      entry.artifacts = paths;
      this.#artifacts.set(name, refs);
    }
    this.#scope.steps[name] = entry;
  }

  /**
   * A step's concurrency keys and rate-limit use, their templates resolved against the run (`{{params.x}}`, upstream
   * outputs). A template the run cannot resolve (`{{metadata.x}}`, say) is left for the task, which resolves it
   * against its own parameters and metadata, or refuses it naming the field.
   */
  flowFields(step: WorkflowStep): Pick<TaskInput, 'concurrency' | 'rateLimit'> {
    const out: Pick<TaskInput, 'concurrency' | 'rateLimit'> = {};
    const resolve = <T>(value: T): T => {
      try {
        return resolveTemplates(value, this.#scope) as T;
      } catch {
        return value;
      }
    };
    if (step.concurrency !== undefined && typeof step.concurrency !== 'number')
      out.concurrency = resolve(step.concurrency);
    if (step.rateLimit !== undefined) out.rateLimit = resolve(step.rateLimit);
    return out;
  }

  /** The artifacts of a step's completed dependencies (put in its folder before it runs); null when none. */
  upstreamArtifacts(dependencies: readonly string[]): UpstreamArtifacts | null {
    let out: UpstreamArtifacts | null = null;
    for (const d of dependencies) {
      const refs = this.#artifacts.get(d);
      if (!refs) continue;
      out ??= Object.create(null) as UpstreamArtifacts;
      out[d] = refs;
    }
    return out;
  }

  /**
   * The outputs of a step's completed dependencies, by step name (`ctx.upstream` of its action); null and undefined
   * outputs are left out, and null when none is left (no map is built, sent or stored for steps whose upstream
   * produced nothing: a wide DAG of no-ops would otherwise carry a map of nulls into every task).
   */
  upstream(dependencies: readonly string[]): Record<string, unknown> | null {
    let out: Record<string, unknown> | null = null;
    for (const d of dependencies) {
      const up = this.#scope.steps[d];
      if (up?.status !== 'completed' || up.output === null || up.output === undefined) continue;
      out ??= Object.create(null) as Record<string, unknown>;
      out[d] = up.output;
    }
    return out;
  }
}
