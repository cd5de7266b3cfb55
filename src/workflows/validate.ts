/**
 * Workflow validation: every problem of a definition in one list, before anything runs.
 */
import { findCycle, transitiveDependencies } from '../dag/graph.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { StoredWorkflow, WorkflowStep } from '../model/workflow.js';
import { concurrencyRules, keyTemplateReads } from '../model/flow.js';
import { hashDefinition, normalizeDefinition } from '../model/definition.js';
import { workflowDefinitionSchema, workflowStepSchema } from '../model/workflow.js';
import { LIMITS } from '../model/limits.js';
import { retryProblems } from '../model/task.js';
import { checkPayloadLimits, didYouMean, formatZodIssues } from '../model/validate.js';
import type { ModuleRegistry } from '../modules/registry.js';
import type { PathSegment, TemplateRef } from './template.js';
import { findTemplates, ITEM_ROOTS, parseCondition, STEP_FIELDS } from './template.js';
import { kindProblems, kindTemplates } from './kinds.js';
import { fastStep } from './fastStep.js';
import type { SafeParseReturnType, ZodType } from 'zod';

/** Checks that need the engine's state; without them, validation checks what the definition says alone. */
export interface ValidationContext {
  /** Throws a `ValidationError` for requirements the engine could never grant (unknown resource or unit, ...). */
  checkResources?: ((requirements: Record<string, Record<string, number>>, where: string) => void) | undefined;
  /**
   * The workflows a sub-workflow step may name: their names, and the workflows each one's latest version calls.
   * Without it, sub-workflow steps are not checked against other workflows.
   */
  workflows?: { names: () => Iterable<string>; calls: (name: string) => readonly string[] | null } | undefined;
}

/** The workflows a definition's steps call (`workflow:` steps), each once. */
export function calledWorkflows(steps: readonly WorkflowStep[]): string[] {
  return [...new Set(steps.flatMap((s) => (s.workflow !== undefined ? [s.workflow] : [])))];
}

/** A path `self -> a -> ... -> self` through sub-workflow calls, or null. */
function findCallCycle(
  self: string,
  calls: readonly string[],
  callsOf: (name: string) => readonly string[] | null,
): string[] | null {
  const seen = new Set<string>();
  const walk = (name: string, path: string[]): string[] | null => {
    if (name === self) return [...path, name];
    if (seen.has(name)) return null;
    seen.add(name);
    for (const next of callsOf(name) ?? []) {
      const found = walk(next, [...path, name]);
      if (found) return found;
    }
    return null;
  };
  for (const c of calls) {
    const found = walk(c, [self]);
    if (found) return found;
  }
  return null;
}

/** What `validateWorkflow` found: every error and warning, and the normalised workflow when valid. */
export interface WorkflowValidation {
  valid: boolean;
  errors: string[];
  warnings: string[];
  /** The normalised definition, when valid. */
  workflow: StoredWorkflow | null;
}

function startsWith(path: readonly PathSegment[], prefix: readonly PathSegment[]): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => p === path[i]);
}

/**
 * Checks a definition (camelCase or the seed's snake_case) against the schema, the module registry and itself:
 * cycles (named), unknown or duplicate steps, unknown `module.action`, parameters that fail the action's schema
 * (where no template stands in them), templates that reference steps not upstream, bad timeouts or retry counts.
 * Returns every problem; creates nothing.
 */
export function validateWorkflow(
  raw: unknown,
  registry: ModuleRegistry,
  now: number = Date.now(),
  context: ValidationContext = {},
): WorkflowValidation {
  const errors: string[] = [];
  const warnings: string[] = [];
  const fail = (): WorkflowValidation => ({ valid: false, errors, warnings, workflow: null });
  const normalized = normalizeDefinition(raw);
  const parsed = workflowDefinitionSchema.safeParse(normalized);
  const wfName =
    typeof (normalized as { name?: unknown } | null)?.name === 'string' ? (normalized as { name: string }).name : '?';
  const W = `workflow "${wfName}"`;
  if (!parsed.success) {
    errors.push(...formatZodIssues(parsed.error, W));
    if (!Array.isArray((normalized as { steps?: unknown } | null)?.steps)) return fail();
  }
  const rawSteps = (normalized as { steps: unknown[] }).steps ?? [];
  if (rawSteps.length > LIMITS.maxSteps) return fail();

  // Steps, one by one.
  const steps: WorkflowStep[] = [];
  const unchecked: WorkflowStep[] = [];
  const byName = new Map<string, WorkflowStep>();
  /** Steps whose parameters break a payload limit: not walked again for templates. */
  const oversized = new Set<string>();
  rawSteps.forEach((rs, i) => {
    const label =
      typeof (rs as { name?: unknown } | null)?.name === 'string'
        ? `step "${(rs as { name: string }).name}"`
        : `steps[${i}]`;
    const fast = fastStep(rs);
    const r = fast !== null ? ({ success: true, data: fast } as const) : workflowStepSchema.safeParse(rs);
    if (!r.success) {
      errors.push(...formatZodIssues(r.error, `${W}: ${label}`));
      // Still check its action and parameters, so one pass reports everything.
      const loose = rs as Partial<WorkflowStep> | null;
      if (typeof loose?.name === 'string' && typeof loose.module === 'string' && typeof loose.action === 'string') {
        const p = loose.parameters;
        if (p === undefined || (typeof p === 'object' && p !== null && !Array.isArray(p)))
          unchecked.push({ name: loose.name, module: loose.module, action: loose.action, parameters: p });
      }
      return;
    }
    const s = r.data as WorkflowStep;
    // A workflow's `affinity: "run"` is stored on its steps; `none` only takes a step out of it.
    if (s.affinity === 'none') delete s.affinity;
    else if (parsed.success && parsed.data.affinity === 'run') s.affinity = 'run';
    // zod leaves out `__proto__` keys where it copies records: check the definition's own objects, which refuse them.
    const given = rs as Pick<WorkflowStep, 'parameters' | 'metadata'>;
    const limit =
      checkPayloadLimits(given.parameters ?? {}, `${W}: step "${s.name}".parameters`) ??
      checkPayloadLimits(given.metadata ?? {}, `${W}: step "${s.name}".metadata`);
    if (limit) {
      errors.push(limit);
      oversized.add(s.name);
    }
    errors.push(...retryProblems(s.retry, `${W}: step "${s.name}"`));
    errors.push(...kindProblems(s, `${W}: step "${s.name}"`));
    if (s.resources && Object.keys(s.resources).length && context.checkResources) {
      try {
        context.checkResources(s.resources, `${W}: step "${s.name}".resources`);
      } catch (err) {
        if (err instanceof ValidationError) errors.push(...err.issues);
        else throw err;
      }
    }
    if (byName.has(s.name)) {
      errors.push(`${W}: step name "${s.name}" is used twice; step names must be unique`);
      return;
    }
    byName.set(s.name, s);
    steps.push(s);
  });

  // Dependencies.
  const names = [...byName.keys()];
  for (const s of steps) {
    for (const d of s.dependencies ?? []) {
      if (d === s.name) errors.push(`${W}: step "${s.name}" depends on itself`);
      else if (!byName.has(d)) {
        const hint = didYouMean(d, names);
        errors.push(`${W}: step "${s.name}" depends on unknown step "${d}"${hint ? ` (did you mean "${hint}"?)` : ''}`);
      }
    }
    if (new Set(s.dependencies ?? []).size !== (s.dependencies ?? []).length)
      warnings.push(`${W}: step "${s.name}" lists a dependency twice`);
  }
  // Known, non-self dependencies, computed once (asked for per edge by the graph walks below).
  const depsOf = new Map<string, readonly string[]>();
  for (const s of steps)
    depsOf.set(
      s.name,
      (s.dependencies ?? []).filter((d) => byName.has(d) && d !== s.name),
    );
  const deps = (id: string): readonly string[] => depsOf.get(id) ?? [];
  const cycle = findCycle(names, deps);
  if (cycle) errors.push(`${W}: dependency cycle: ${cycle.join(' -> ')}`);
  const dag = { nodes: names, deps };
  // Downstream sets, computed once per step that templates reference beyond a direct dependency (usually a few
  // roots), so checking every template stays linear.
  const dependentsOf = new Map<string, string[]>();
  for (const s of steps)
    for (const d of deps(s.name)) (dependentsOf.get(d) ?? dependentsOf.set(d, []).get(d))?.push(s.name);
  const downstream = new Map<string, Set<string>>();
  const isUpstream = (stepName: string, root: string): boolean => {
    if (deps(stepName).includes(root)) return true;
    if (cycle) return false;
    let below = downstream.get(root);
    if (!below) {
      below = new Set<string>();
      const todo = [...(dependentsOf.get(root) ?? [])];
      for (let n = todo.pop(); n !== undefined; n = todo.pop()) {
        if (below.has(n)) continue;
        below.add(n);
        todo.push(...(dependentsOf.get(n) ?? []));
      }
      downstream.set(root, below);
    }
    return below.has(stepName);
  };
  const checkRef = (s: WorkflowStep, ref: TemplateRef, where: string): void => {
    // `project` is the project a run belongs to (engine.executeProjectWorkflow); checked when a run starts.
    if (ref.root === 'params' || ref.root === 'project') return;
    if (ITEM_ROOTS.has(ref.root) && !byName.has(ref.root)) {
      if (s.forEach === undefined || where !== 'parameters') {
        errors.push(
          `${W}: step "${s.name}" ${where}: {{${ref.raw}}} reads the current item of a forEach step; ${s.forEach === undefined ? "add forEach to this step, or read another step's output" : 'it is readable only inside parameters'}`,
        );
      } else if (ref.root === 'index' && ref.path.length > 0) {
        errors.push(`${W}: step "${s.name}" ${where}: {{${ref.raw}}}: index is a number, with no fields`);
      }
      return;
    }
    if (!byName.has(ref.root)) {
      const hint = didYouMean(ref.root, [...names, 'params', 'project']);
      errors.push(
        `${W}: step "${s.name}" ${where} references unknown step "${ref.root}" in {{${ref.raw}}}${hint ? ` (did you mean "${hint}"?)` : ''}`,
      );
      return;
    }
    if (ref.root === s.name) {
      errors.push(`${W}: step "${s.name}" ${where} references its own output in {{${ref.raw}}}`);
      return;
    }
    const field = ref.path[0];
    if (typeof field !== 'string' || !(STEP_FIELDS as readonly string[]).includes(field)) {
      errors.push(
        `${W}: step "${s.name}" ${where}: {{${ref.raw}}} must read ${STEP_FIELDS.map((f) => `${ref.root}.${f}`).join(', ')}`,
      );
      return;
    }
    if (!isUpstream(s.name, ref.root)) {
      errors.push(
        `${W}: step "${s.name}" ${where} references step "${ref.root}" in {{${ref.raw}}}, which is not upstream of it; add "${ref.root}" to its dependencies`,
      );
    }
  };

  const emptyParams = new Map<ZodType, SafeParseReturnType<unknown, unknown>>();
  /** The action exists and the parameters fit its schema, except where a template stands. */
  function checkAction(s: WorkflowStep, templated: PathSegment[][]): void {
    if (s.module === undefined || s.action === undefined) return;
    let action;
    try {
      action = registry.resolve(s.module, s.action);
    } catch (err) {
      if (err instanceof NotFoundError) errors.push(`${W}: step "${s.name}": ${err.message}`);
      else throw err;
      return;
    }
    const params = s.parameters ?? {};
    // Most steps of a large definition have no parameters: what the schema says of none is parsed once per action.
    const empty = Object.getPrototypeOf(params) === Object.prototype && Object.keys(params).length === 0;
    let r = empty ? emptyParams.get(action.params) : undefined;
    if (r === undefined) {
      r = action.params.safeParse(params);
      if (empty) emptyParams.set(action.params, r);
    }
    if (!r.success) {
      const real = r.error.issues.filter((issue) => !templated.some((loc) => startsWith(issue.path, loc)));
      if (real.length)
        errors.push(
          ...formatZodIssues({ ...r.error, issues: real } as typeof r.error, `${W}: step "${s.name}".parameters`),
        );
    }
  }

  // Actions, parameters, templates and conditions.
  for (const s of steps) {
    if (oversized.has(s.name)) continue;
    const params = s.parameters ?? {};
    let sites: ReturnType<typeof findTemplates> = [];
    try {
      sites = findTemplates(params);
    } catch (err) {
      errors.push(`${W}: step "${s.name}".parameters.${(err as Error).message}`);
    }
    for (const site of sites) for (const ref of site.refs) checkRef(s, ref, 'parameters');
    try {
      for (const k of kindTemplates(s))
        for (const site of k.sites) for (const ref of site.refs) checkRef(s, ref, k.where);
    } catch (err) {
      errors.push(`${W}: step "${s.name}": ${(err as Error).message}`);
    }
    if (s.workflow !== undefined && context.workflows) {
      const known = [...context.workflows.names()];
      if (s.workflow !== wfName && !known.includes(s.workflow)) {
        const hint = didYouMean(s.workflow, known);
        errors.push(
          `${W}: step "${s.name}".workflow: no workflow named "${s.workflow}"${hint ? ` (did you mean "${hint}"?)` : ''}; create it first`,
        );
      }
    }
    if (s.when !== undefined) {
      try {
        const cond = parseCondition(s.when);
        for (const site of findTemplates(cond.template)) for (const ref of site.refs) checkRef(s, ref, 'when');
      } catch (err) {
        errors.push(`${W}: step "${s.name}".when: ${(err as Error).message}`);
      }
    }
    checkAction(
      s,
      sites.map((x) => x.location),
    );
  }
  for (const s of unchecked) {
    let templated: PathSegment[][] = [];
    try {
      templated = findTemplates(s.parameters ?? {}).map((x) => x.location);
    } catch {
      /* reported with the step's own problems */
    }
    checkAction(s, templated);
  }

  const calls = calledWorkflows(steps);
  if (calls.length && context.workflows) {
    const callsOf = context.workflows.calls;
    const cycle = findCallCycle(wfName, calls, (n) => (n === wfName ? calls : callsOf(n)));
    if (cycle)
      errors.push(
        `${W}: reaches itself through sub-workflow steps: ${cycle.join(' -> ')}; a workflow cannot call itself, directly or through others`,
      );
  }

  const defParams = (normalized as { params?: unknown }).params;
  if (defParams !== undefined) {
    const limit = checkPayloadLimits(defParams, `${W}.params`);
    if (limit) errors.push(limit);
  }

  // Parallel groups.
  const groups = parsed.success ? (parsed.data.parallelGroups ?? null) : null;
  if (groups) {
    groups.forEach((g, gi) => {
      for (const m of g) if (!byName.has(m)) errors.push(`${W}: parallelGroups[${gi}] names unknown step "${m}"`);
      if (cycle) return;
      for (const a of g) {
        if (!byName.has(a)) continue;
        const up = transitiveDependencies(dag, a);
        for (const b of g) {
          if (up.has(b))
            warnings.push(
              `${W}: parallelGroups[${gi}] holds "${a}" and "${b}", but "${a}" depends on "${b}", so they never overlap`,
            );
        }
      }
    });
  }

  if (parsed.success) {
    // Run-level keys are resolved when a run is requested, before any step: they can read its parameters only.
    const d = parsed.data;
    const rules = d.concurrency === undefined ? [] : concurrencyRules(d.concurrency);
    const keys = [
      ...rules.map((r, i) => ({ key: r.key, field: `concurrency${Array.isArray(d.concurrency) ? `[${i}]` : ''}.key` })),
      ...(d.debounce ? [{ key: d.debounce.key, field: 'debounce.key' }] : []),
    ];
    for (const { key, field } of keys) {
      for (const expr of keyTemplateReads(key)) {
        if (!/^params\.[A-Za-z_$][\w$-]*/.test(expr))
          errors.push(
            `${W}: ${field}: "{{${expr}}}" cannot be resolved when a run is requested; a run-level key reads only the run's parameters ("{{params.tenant}}")`,
          );
      }
    }
  }
  if (errors.length || !parsed.success) return fail();
  const d = parsed.data;
  const stored: StoredWorkflow = {
    name: d.name,
    description: d.description ?? '',
    version: d.version ?? '',
    hash: '',
    steps,
    parallelGroups: groups,
    params: d.params ?? {},
    metadata: d.metadata ?? {},
    createdAt: now,
    source: null,
    ...(d.concurrency !== undefined ? { concurrency: concurrencyRules(d.concurrency) } : {}),
    ...(d.debounce !== undefined ? { debounce: d.debounce } : {}),
  };
  stored.hash = hashDefinition(stored);
  return { valid: true, errors, warnings, workflow: stored };
}

/** Like {@link validateWorkflow}, but throws a `ValidationError` listing every problem. */
export function assertValidWorkflow(
  raw: unknown,
  registry: ModuleRegistry,
  context: ValidationContext = {},
): { workflow: StoredWorkflow; warnings: string[] } {
  const v = validateWorkflow(raw, registry, Date.now(), context);
  if (!v.workflow) throw new ValidationError(v.errors);
  return { workflow: v.workflow, warnings: v.warnings };
}
