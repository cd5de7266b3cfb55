/**
 * Projects: a folder scaffolded from a template, with its config, its workflows, its milestones and
 * a manifest at `.codomyrmex/project.json`. Plain data: the same values are stored, sent on the bus and written to
 * the manifest.
 */
import type { WorkflowRunStatus } from './workflow.js';

/** An archived project keeps its record (and its tarball, when one was written); it takes no new runs. */
export type ProjectStatus = 'active' | 'archived';
export type MilestoneStatus = 'open' | 'completed';

/** A goal of a project. Naming `workflows` makes it complete itself once each of them has run successfully. */
export interface Milestone {
  name: string;
  description: string;
  /** ISO date (`2025-12-31`) or date-time; null when none was given. */
  dueDate: string | null;
  /** What "done" means, in words. */
  criteria: string[];
  /** Project workflows whose successful runs complete the milestone (all of them). */
  workflows: string[];
  /** Workflow name → the run that satisfied it. */
  satisfiedBy: Record<string, string>;
  status: MilestoneStatus;
  completedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** How one of a project's workflows has done in the project. */
export interface ProjectWorkflowRuns {
  runs: number;
  successes: number;
  failures: number;
  lastRun: { runId: string; status: WorkflowRunStatus; success: boolean; endedAt: number; durationMs: number } | null;
}

/** A project: a folder scaffolded from a template, with its config, milestones and workflow runs. */
export interface Project {
  name: string;
  description: string;
  /** The template it was made from. */
  template: string;
  templateVersion: string;
  /** Absolute path of its folder. */
  path: string;
  status: ProjectStatus;
  /** The template's `default_config` merged with the overrides given at creation and set since. */
  config: Record<string, unknown>;
  /** The template's `default_config`, kept so `setProjectConfig` can check a value against the default's type. */
  defaultConfig: Record<string, unknown>;
  /** Workflows registered under the project (the template's `workflows`). */
  workflows: string[];
  requiredModules: string[];
  optionalModules: string[];
  author: string;
  tags: string[];
  /** What scaffolding made, relative to `path` (folders end in `/`): compared with the disk by `getProjectStatus`. */
  files: string[];
  milestones: Milestone[];
  runs: Record<string, ProjectWorkflowRuns>;
  /** Runs started and not yet ended: run id → workflow name. */
  activeRuns: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  archivedAt: number | null;
  /** The `.tar.gz` written when it was archived with `tarball`. */
  archivePath: string | null;
}

/** What `createProject` takes. Snake_case `template_name` is accepted too (the seed's keyword). */
export interface CreateProjectOptions {
  name: string;
  /** A template from `listTemplates()` (default `ai_analysis`). */
  templateName?: string | undefined;
  description?: string | undefined;
  /** The project's folder (default `<projectsDir>/<name>`). Relative paths resolve against the process's cwd. */
  path?: string | undefined;
  /** Overrides merged over the template's `default_config` (objects merge, other values replace). */
  config?: Record<string, unknown> | undefined;
  author?: string | undefined;
  tags?: string[] | undefined;
  /** Scaffold into a folder that exists and is not empty (files the template writes are overwritten). */
  force?: boolean | undefined;
}

/** What `updateProject` may change; fields left out stay as they are. */
export interface ProjectChanges {
  description?: string | undefined;
  author?: string | undefined;
  tags?: string[] | undefined;
}

/** A milestone as `addMilestone` takes it: a name, and optionally a due date (ISO), criteria and the workflows whose runs count towards it. */
export interface MilestoneInput {
  name: string;
  description?: string | undefined;
  dueDate?: string | undefined;
  criteria?: string[] | undefined;
  workflows?: string[] | undefined;
}

/** What `updateMilestone` may change (everything but the name). */
export type MilestoneChanges = Partial<Omit<MilestoneInput, 'name'>>;

/** How many of a project's milestones are completed. */
export interface MilestoneProgress {
  total: number;
  completed: number;
  /** completed / total; 0 when there are none. */
  fraction: number;
}

/** `getProjectStatus(name)`. */
export interface ProjectStatusReport {
  name: string;
  status: ProjectStatus;
  template: string;
  description: string;
  path: string;
  tags: string[];
  createdAt: string;
  updatedAt: string;
  archivedAt: string | null;
  archivePath: string | null;
  config: Record<string, unknown>;
  /** Each workflow of the project: whether the engine has it, its runs in this project and the last outcome. */
  workflows: ({ name: string; registered: boolean } & ProjectWorkflowRuns)[];
  runsInFlight: number;
  milestones: MilestoneProgress & { items: Milestone[] };
  /** What scaffolding made, against what is on disk now. */
  files: { expected: number; present: number; missing: string[] };
  modules: { required: string[]; missing: string[] };
}

/** `getMetrics().projects`. */
export interface ProjectCounts {
  total: number;
  byStatus: Record<ProjectStatus, number>;
  milestones: { total: number; completed: number };
  runsInFlight: number;
}

export function milestoneProgress(milestones: readonly Milestone[]): MilestoneProgress {
  const completed = milestones.filter((m) => m.status === 'completed').length;
  return { total: milestones.length, completed, fraction: milestones.length ? completed / milestones.length : 0 };
}
