/**
 * Milestones of a project, as pure changes: each function returns the new milestone list (the caller stores it)
 * and the milestones that became complete (the caller announces them).
 */
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { Milestone, MilestoneChanges, MilestoneInput, Project } from '../../model/project.js';
import { didYouMean, formatZodIssues } from '../../model/validate.js';
import { NO_CONTROL_CHARS } from '../../projects/names.js';

const date = z
  .string()
  .refine(
    (s) => /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(s) && !Number.isNaN(Date.parse(s)),
    'must be an ISO date like 2025-12-31 (or a date-time)',
  );

const fields = {
  description: z.string().max(10_000).optional(),
  dueDate: date.optional(),
  criteria: z.array(z.string().min(1).max(1000)).max(100).optional(),
  workflows: z.array(z.string().min(1)).max(100).optional(),
};
const inputSchema = z
  .object({
    name: z.string().min(1, 'is required').max(200).regex(NO_CONTROL_CHARS, 'must not hold control characters'),
    ...fields,
  })
  .strict();
const changesSchema = z.object(fields).strict();

function checkWorkflows(project: Project, workflows: readonly string[], where: string): void {
  const unknown = workflows.filter((w) => !project.workflows.includes(w));
  if (unknown.length) {
    const hint = didYouMean(unknown[0] as string, project.workflows);
    throw new ValidationError(
      `${where}.workflows: "${unknown.join('", "')}" ${unknown.length > 1 ? 'are' : 'is'} not a workflow of project "${project.name}"${hint ? ` (did you mean "${hint}"?)` : ''}; its workflows: ${project.workflows.join(', ') || '(none)'}`,
    );
  }
}

/** The milestone named, or a `NotFoundError` with the project's milestone names. */
export function findMilestone(project: Project, name: string): Milestone {
  const m = project.milestones.find((x) => x.name === name);
  if (m) return m;
  const hint = didYouMean(
    name,
    project.milestones.map((x) => x.name),
  );
  throw new NotFoundError(
    `milestone: project "${project.name}" has no milestone "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; its milestones: ${project.milestones.map((x) => x.name).join(', ') || '(none)'}`,
  );
}

export function addMilestone(project: Project, input: MilestoneInput, now: number): Milestone[] {
  const parsed = inputSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError(formatZodIssues(parsed.error, 'milestone'));
  const m = parsed.data;
  if (project.milestones.some((x) => x.name === m.name))
    throw new ValidationError(
      `milestone.name: project "${project.name}" already has a milestone "${m.name}"; update it with updateMilestone`,
    );
  checkWorkflows(project, m.workflows ?? [], 'milestone');
  const milestone: Milestone = {
    name: m.name,
    description: m.description ?? '',
    dueDate: m.dueDate ?? null,
    criteria: m.criteria ?? [],
    workflows: m.workflows ?? [],
    satisfiedBy: {},
    status: 'open',
    completedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  return [...project.milestones, milestone];
}

export function updateMilestone(project: Project, name: string, changes: MilestoneChanges, now: number): Milestone[] {
  const current = findMilestone(project, name);
  const parsed = changesSchema.safeParse(changes);
  if (!parsed.success) throw new ValidationError(formatZodIssues(parsed.error, 'changes'));
  const c = parsed.data;
  if (c.workflows) checkWorkflows(project, c.workflows, 'changes');
  const next: Milestone = {
    ...current,
    ...(c.description !== undefined ? { description: c.description } : {}),
    ...(c.dueDate !== undefined ? { dueDate: c.dueDate } : {}),
    ...(c.criteria !== undefined ? { criteria: c.criteria } : {}),
    ...(c.workflows !== undefined
      ? {
          workflows: c.workflows,
          satisfiedBy: Object.fromEntries(
            Object.entries(current.satisfiedBy).filter(([w]) => c.workflows?.includes(w)),
          ),
        }
      : {}),
    updatedAt: now,
  };
  return project.milestones.map((m) => (m.name === name ? next : m));
}

export function completeMilestone(project: Project, name: string, now: number): Milestone[] {
  const current = findMilestone(project, name);
  if (current.status === 'completed')
    throw new ValidationError(
      `milestone: "${name}" of project "${project.name}" was already completed on ${new Date(current.completedAt ?? now).toISOString()}`,
    );
  return project.milestones.map((m) =>
    m.name === name ? { ...m, status: 'completed', completedAt: now, updatedAt: now } : m,
  );
}

/**
 * A successful run of `workflow` counts towards every open milestone naming it; those whose workflows have all
 * succeeded complete. Returns the new list and the names completed.
 */
export function recordSuccess(
  project: Project,
  workflow: string,
  runId: string,
  now: number,
): { milestones: Milestone[]; completed: string[] } {
  const completed: string[] = [];
  const milestones = project.milestones.map((m) => {
    if (m.status !== 'open' || !m.workflows.includes(workflow)) return m;
    const satisfiedBy = { ...m.satisfiedBy, [workflow]: runId };
    const done = m.workflows.every((w) => w in satisfiedBy);
    if (done) completed.push(m.name);
    return { ...m, satisfiedBy, updatedAt: now, ...(done ? { status: 'completed' as const, completedAt: now } : {}) };
  });
  return { milestones, completed };
}
