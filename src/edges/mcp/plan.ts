/**
 * A workflow's plan without running it (the `validate_workflow` tool and `codomyrmex workflow plan`): whether it is
 * valid, the levels its steps run in, the critical path, what resources each level needs next to what the engine
 * has, and the warnings.
 */
import { describeStep } from '../../workflows/kinds.js';
import { criticalPath, topologicalLevels } from '../../dag/graph.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { WorkflowStep } from '../../model/workflow.js';
import { normalizeDefinition } from '../../model/definition.js';
import { workflowStepSchema } from '../../model/workflow.js';
import { complexToDefinition } from '../../workflows/complex.js';
import type { EdgeEngine } from '../seam.js';

/** One step of a {@link WorkflowPlan}: its action, dependencies, limits and resources. */
export interface PlanStep {
  name: string;
  action: string;
  dependencies: string[];
  timeoutSeconds: number | null;
  maxRetries: number | null;
  resources: Record<string, Record<string, number>>;
}

/** What a workflow would do, without running it (`planWorkflow`, the MCP `plan_workflow` tool): problems, levels, critical path and resource peaks. */
export interface WorkflowPlan {
  valid: boolean;
  workflowName: string | null;
  errors: string[];
  warnings: string[];
  steps: PlanStep[];
  /** Steps that can run together, in order: level n waits for levels before it. */
  levels: string[][];
  criticalPath: string[];
  /** Per resource and unit: the most any one level asks for at once, and what the engine has (null: no such resource). */
  resources: { resource: string; unit: string; peak: number; capacity: number | null }[];
}

/** A complex definition (the seed's `{ steps, dependencies: {...}, parallel_groups }`) has a dependencies map. */
function normalise(definition: Record<string, unknown>): Record<string, unknown> {
  const deps = definition['dependencies'];
  return deps !== undefined && typeof deps === 'object' && deps !== null && !Array.isArray(deps)
    ? complexToDefinition(definition)
    : definition;
}

/** Plans a stored workflow (by name) or a definition; creates and runs nothing. */
export async function planWorkflow(
  engine: Pick<EdgeEngine, 'workflows' | 'resources'>,
  input: { workflowName?: string | undefined; definition?: Record<string, unknown> | undefined },
): Promise<WorkflowPlan> {
  let raw: Record<string, unknown>;
  if (input.definition !== undefined) {
    raw = normalise(input.definition);
  } else if (input.workflowName !== undefined) {
    const stored = await engine.workflows.getWorkflow(input.workflowName);
    if (!stored)
      throw new NotFoundError(`workflow_name: no workflow named "${input.workflowName}"; see list_workflows`);
    raw = {
      name: stored.name,
      version: stored.version,
      description: stored.description,
      steps: stored.steps,
      params: stored.params,
      ...(stored.parallelGroups ? { parallelGroups: stored.parallelGroups } : {}),
    };
  } else {
    throw new ValidationError('give workflow_name (a stored workflow) or definition (a workflow definition object)');
  }
  // The engine validates (its registry, its resources); the steps of a valid definition are read here, by schema.
  const checked = await engine.workflows.validateWorkflow(raw);
  const normalized = normalizeDefinition(raw) as { name?: unknown; steps?: unknown };
  const steps: WorkflowStep[] =
    !checked.valid || !Array.isArray(normalized.steps)
      ? []
      : normalized.steps.flatMap((s) => {
          const r = workflowStepSchema.safeParse(s);
          return r.success ? [r.data as WorkflowStep] : [];
        });
  const plan: WorkflowPlan = {
    valid: checked.valid,
    workflowName: typeof normalized.name === 'string' ? normalized.name : null,
    errors: checked.errors,
    warnings: [...checked.warnings],
    steps: steps.map((s) => ({
      name: s.name,
      action: describeStep(s),
      dependencies: s.dependencies ?? [],
      timeoutSeconds: s.timeout ?? null,
      maxRetries: s.maxRetries ?? null,
      resources: s.resources ?? {},
    })),
    levels: [],
    criticalPath: [],
    resources: [],
  };
  if (!checked.valid || steps.length === 0) return plan;
  const byName = new Map(steps.map((s) => [s.name, s]));
  const dag = { nodes: steps.map((s) => s.name), deps: (id: string) => byName.get(id)?.dependencies ?? [] };
  plan.levels = topologicalLevels(dag);
  // Weighted by each step's time limit where it has one, so the path is the one that bounds the run's time.
  plan.criticalPath = criticalPath(dag, (id) => byName.get(id)?.timeout ?? 1).path;
  const peaks = new Map<string, { resource: string; unit: string; peak: number }>();
  for (const level of plan.levels) {
    const sums = new Map<string, number>();
    for (const name of level) {
      for (const [res, units] of Object.entries(byName.get(name)?.resources ?? {})) {
        for (const [unit, amount] of Object.entries(units))
          sums.set(`${res}\u0000${unit}`, (sums.get(`${res}\u0000${unit}`) ?? 0) + amount);
      }
    }
    for (const [key, sum] of sums) {
      const [resource = '', unit = ''] = key.split('\u0000');
      const prev = peaks.get(key);
      if (!prev || prev.peak < sum) peaks.set(key, { resource, unit, peak: sum });
    }
  }
  const usage = await engine.resources.listResources();
  for (const p of peaks.values()) {
    const r = usage.find((u) => u.id === p.resource || u.type === p.resource);
    const capacity = r ? r.capacity : null;
    plan.resources.push({ ...p, capacity });
    if (capacity === null)
      plan.warnings.push(`resource "${p.resource}" is not known to this engine; steps that need it will be refused`);
    else if (p.peak > capacity)
      plan.warnings.push(
        `steps of one level need ${p.peak} ${p.unit} of "${p.resource}" at once but it has ${capacity}: they will take turns`,
      );
  }
  return plan;
}
