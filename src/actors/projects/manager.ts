/**
 * The ProjectManager: the project commands (create, update, archive, delete, config, milestones, runs), each on a
 * project run one at a time. The projects it holds and how a change is saved are state.ts, a project's workflow
 * runs runs.ts; templates, scaffolding, milestones and status live in their own files beside it. The actor in
 * `actor.ts` serves it on the bus.
 */
import { rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve, isAbsolute } from 'node:path';
import type { MessageBus } from '../../bus/bus.js';
import { AlreadyExistsError, ShuttingDownError, ValidationError } from '../../errors.js';
import type {
  Milestone,
  MilestoneChanges,
  MilestoneInput,
  Project,
  ProjectChanges,
  ProjectCounts,
  ProjectStatus,
  ProjectStatusReport,
} from '../../model/project.js';
import type { WorkflowResult } from '../../model/workflow.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import { writeTarball } from '../../projects/archive.js';
import { getConfigValue, setConfigValue } from '../../projects/config.js';
import type { ScaffoldHooks } from '../../projects/scaffold.js';
import { writeScaffold } from '../../projects/scaffold.js';
import type { ProjectTemplate, TemplateSummary } from '../../projects/template.js';
import { loadTemplates, requireTemplate, summarize } from '../../projects/template.js';
import type { GroupCommitter } from '../../store/commits.js';
import type { Store } from '../../store/store.js';
import { checkCreateOptions, checkProjectPath, checkTarget, MANIFEST, manifestText, prepareProject } from './create.js';
import * as milestones from './milestones.js';
import type { ProjectRunRequest, RunOutcome } from './runs.js';
import { ProjectRuns } from './runs.js';
import { ProjectState } from './state.js';
import { statusReport } from './status.js';

export interface ProjectManagerDeps {
  bus: MessageBus;
  registry: () => ModuleRegistry;
  templateDirs: readonly string[];
  projectsDir: string;
  /** Folders besides `projectsDir` a project's path may be in (default none). */
  allowedProjectRoots?: readonly string[];
  store?: Store | undefined;
  commits?: GroupCommitter | undefined;
  /** Strict durability: a change is answered only once it is on disk. */
  ackOnCommit?: boolean;
  now?: () => number;
  /** Test hooks into scaffolding (fail a write half-way). */
  scaffoldHooks?: ScaffoldHooks | undefined;
}

export class ProjectManager {
  readonly #deps: ProjectManagerDeps;
  readonly #now: () => number;
  readonly #state: ProjectState;
  readonly #runs: ProjectRuns;
  /** Names being created: a second create of one waits for nothing and is refused. */
  readonly #creating = new Set<string>();
  #closing = false;

  constructor(deps: ProjectManagerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#state = new ProjectState({
      bus: deps.bus,
      store: deps.store,
      commits: deps.commits,
      ackOnCommit: deps.ackOnCommit,
      now: this.#now,
    });
    this.#runs = new ProjectRuns(this.#state, deps.bus, this.#now, () => this.#closing);
  }

  /** Loads the projects from the store. Call once, before any command. */
  recover(): number {
    const loaded = this.#state.load();
    this.#runs.recover(loaded);
    return loaded.length;
  }

  close(): void {
    this.#closing = true;
  }

  // ---------------------------------------------------------------- templates

  async templates(): Promise<TemplateSummary[]> {
    return summarize(await loadTemplates(this.#deps.templateDirs));
  }

  async template(name: string): Promise<ProjectTemplate> {
    return requireTemplate(await loadTemplates(this.#deps.templateDirs), name, 'name');
  }

  // ---------------------------------------------------------------- lifecycle

  /** Scaffolds, writes the manifest, stores the project and announces `project_created`. Nothing is left on failure. */
  async create(input: unknown): Promise<Project> {
    if (this.#closing) throw new ShuttingDownError();
    const o = checkCreateOptions(input);
    const existing = this.#state.get(o.name);
    if (existing || this.#creating.has(o.name)) {
      throw new AlreadyExistsError(
        `name: a project named "${o.name}" already exists${existing ? ` (at ${existing.path})` : ''}; pick another name or delete it first`,
      );
    }
    this.#creating.add(o.name);
    try {
      const template = requireTemplate(await loadTemplates(this.#deps.templateDirs), o.templateName);
      const missing: string[] = [];
      for (const w of template.workflows)
        if (!(await this.#deps.bus.request('workflow.get', { name: w }))) missing.push(w);
      if (missing.length) {
        throw new ValidationError(
          `templateName: template "${template.name}" (${template.file}) names workflow(s) ${missing.map((w) => `"${w}"`).join(', ')} this engine does not have; add them to a workflow folder or remove them from the template's "workflows"`,
        );
      }
      const { project, plan } = await prepareProject(o, template, this.#deps.projectsDir, this.#now());
      await checkProjectPath(project.path, this.#deps.projectsDir, this.#deps.allowedProjectRoots ?? []);
      const clash = [...this.#state.all()].find((p) => p.path === project.path);
      if (clash) throw new ValidationError(`path: ${project.path} is already the folder of project "${clash.name}"`);
      await checkTarget(project.path, o.force === true);
      const undo = await writeScaffold(project.path, plan, this.#deps.scaffoldHooks);
      this.#state.add(project);
      try {
        await this.#state.acked(project);
      } catch (err) {
        this.#state.forget(project.name);
        await undo.rollback();
        throw err;
      }
      this.#deps.bus.publish('project_created', {
        name: project.name,
        template: project.template,
        path: project.path,
        workflows: project.workflows,
      });
      return project;
    } finally {
      this.#creating.delete(o.name);
    }
  }

  get(name: string): Project | null {
    return this.#state.get(name) ?? null;
  }

  list(filter: { status?: ProjectStatus; tag?: string } = {}): Project[] {
    return [...this.#state.all()]
      .filter(
        (p) =>
          (filter.status === undefined || p.status === filter.status) &&
          (filter.tag === undefined || p.tags.includes(filter.tag)),
      )
      .sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
  }

  update(name: string, changes: ProjectChanges): Promise<Project> {
    return this.#state.serial(name, async () => {
      const p = this.#state.requireActive(name, 'be changed');
      const allowed = ['description', 'author', 'tags'];
      const unknown = Object.keys(changes ?? {}).filter((k) => !allowed.includes(k));
      if (unknown.length)
        throw new ValidationError(
          `changes: unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')}; a project's description, author and tags can change (config: setProjectConfig; milestones: updateMilestone)`,
        );
      if (changes.description !== undefined && typeof changes.description !== 'string')
        throw new ValidationError('changes.description: must be a string');
      if (changes.author !== undefined && typeof changes.author !== 'string')
        throw new ValidationError('changes.author: must be a string');
      if (
        changes.tags !== undefined &&
        !(Array.isArray(changes.tags) && changes.tags.every((t) => typeof t === 'string' && /^[\w.:-]{1,100}$/.test(t)))
      ) {
        throw new ValidationError('changes.tags: must be a list of tags (letters, digits, _, ., : and -)');
      }
      return this.#state.save({
        ...p,
        ...(changes.description !== undefined ? { description: changes.description } : {}),
        ...(changes.author !== undefined ? { author: changes.author } : {}),
        ...(changes.tags !== undefined ? { tags: [...new Set(changes.tags)] } : {}),
        updatedAt: this.#now(),
      });
    });
  }

  /** Marks the project `archived` and, when asked, writes its folder as a `.tar.gz` first. */
  archive(name: string, tarball: boolean | string = false): Promise<Project> {
    return this.#state.serial(name, async () => {
      const p = this.#state.require(name);
      if (p.status === 'archived') {
        throw new ValidationError(
          `project "${p.name}" is already archived (on ${new Date(p.archivedAt ?? 0).toISOString()}${p.archivePath ? `, to ${p.archivePath}` : ''})`,
        );
      }
      if (Object.keys(p.activeRuns).length)
        throw new ValidationError(
          `project "${p.name}" has workflow runs in flight; wait for them or cancel them before archiving`,
        );
      let file: string | null = null;
      if (tarball !== false) {
        file =
          typeof tarball === 'string'
            ? resolve(tarball)
            : join(resolve(this.#deps.projectsDir), 'archives', `${p.name}.tar.gz`);
        if (!/\.(tar\.gz|tgz)$/.test(file)) throw new ValidationError(`tarball: "${file}" must end in .tar.gz or .tgz`);
        const inside = relative(p.path, file);
        if (!inside.startsWith('..') && !isAbsolute(inside))
          throw new ValidationError(`tarball: ${file} is inside the project folder; put the archive elsewhere`);
        if (await stat(file).catch(() => null))
          throw new ValidationError(`tarball: ${file} already exists; give another path`);
      }
      const now = this.#now();
      const next: Project = { ...p, status: 'archived', archivedAt: now, updatedAt: now, archivePath: file };
      // The manifest says "archived" inside the tarball too; if the tarball fails, the old manifest comes back.
      await writeFile(join(p.path, MANIFEST), manifestText(next));
      if (file) {
        try {
          await writeTarball(p.path, file);
        } catch (err) {
          await writeFile(join(p.path, MANIFEST), manifestText(p)).catch(() => undefined);
          throw new ValidationError(
            `tarball: could not write ${file} (${(err as Error).message}); the project was not archived`,
            { cause: err },
          );
        }
      }
      const saved = await this.#state.save(next);
      this.#deps.bus.publish('project_archived', { name: p.name, path: p.path, archivePath: file });
      return saved;
    });
  }

  /** Forgets the project; with `removeFiles`, deletes its folder too (only a folder holding its manifest). */
  delete(name: string, removeFiles = false): Promise<{ deleted: boolean; removedFiles: boolean }> {
    return this.#state.serial(name, async () => {
      const p = this.#state.require(name);
      if (Object.keys(p.activeRuns).length)
        throw new ValidationError(`project "${p.name}" has workflow runs in flight; wait for them before deleting it`);
      let removedFiles = false;
      if (removeFiles) {
        if (await stat(join(p.path, MANIFEST)).catch(() => null)) {
          await rm(p.path, { recursive: true, force: true });
          removedFiles = true;
        }
      }
      this.#state.forget(p.name);
      return this.#state.acked({ deleted: true, removedFiles });
    });
  }

  status(name: string): Promise<ProjectStatusReport> {
    return statusReport(this.#state.require(name), this.#deps.bus, this.#deps.registry());
  }

  // ---------------------------------------------------------------- config

  getConfig(name: string, key?: string): { value: unknown } {
    return { value: getConfigValue(this.#state.require(name).config, key) };
  }

  setConfig(name: string, key: string, value: unknown): Promise<{ config: Record<string, unknown> }> {
    return this.#state.serial(name, async () => {
      const p = this.#state.requireActive(name, 'change its config');
      const config = setConfigValue(p.config, p.defaultConfig, key, value);
      const saved = await this.#state.save({ ...p, config, updatedAt: this.#now() });
      return { config: saved.config };
    });
  }

  // ---------------------------------------------------------------- milestones

  addMilestone(name: string, input: MilestoneInput): Promise<Milestone> {
    return this.#state.serial(name, async () => {
      const p = this.#state.requireActive(name, 'take new milestones');
      const saved = await this.#state.save({
        ...p,
        milestones: milestones.addMilestone(p, input, this.#now()),
        updatedAt: this.#now(),
      });
      return milestones.findMilestone(saved, input.name);
    });
  }

  updateMilestone(name: string, milestone: string, changes: MilestoneChanges): Promise<Milestone> {
    return this.#state.serial(name, async () => {
      const p = this.#state.requireActive(name, 'change its milestones');
      const saved = await this.#state.save({
        ...p,
        milestones: milestones.updateMilestone(p, milestone, changes, this.#now()),
        updatedAt: this.#now(),
      });
      return milestones.findMilestone(saved, milestone);
    });
  }

  completeMilestone(name: string, milestone: string): Promise<Milestone> {
    return this.#state.serial(name, async () => {
      const p = this.#state.requireActive(name, 'complete milestones');
      const saved = await this.#state.save({
        ...p,
        milestones: milestones.completeMilestone(p, milestone, this.#now()),
        updatedAt: this.#now(),
      });
      this.#state.announce(saved, [milestone], null);
      return milestones.findMilestone(saved, milestone);
    });
  }

  // ---------------------------------------------------------------- workflows

  /**
   * Runs one of the project's workflows to its end, in the project's folder, with `{{project.config.x}}`; counts
   * its outcome in the project and towards the milestones that name it.
   */
  runWorkflow(name: string, workflow: string, req: ProjectRunRequest = {}): Promise<WorkflowResult> {
    return this.#runs.runWorkflow(name, workflow, req);
  }

  /**
   * Starts one of the project's workflows and answers with its run id at once (over the network a run is not one
   * held-open request: follow it with `workflow.wait_for` or its end event); its outcome is counted as it ends.
   */
  startWorkflow(name: string, workflow: string, req: ProjectRunRequest = {}): Promise<{ runId: string }> {
    return this.#runs.startWorkflow(name, workflow, req);
  }

  /** A run ended (its `workflow_completed` event): count it once, in its project. */
  runEnded(outcome: RunOutcome): Promise<void> {
    return this.#runs.runEnded(outcome);
  }

  stats(): ProjectCounts {
    const byStatus: Record<ProjectStatus, number> = { active: 0, archived: 0 };
    let total = 0;
    let completed = 0;
    let runsInFlight = 0;
    for (const p of this.#state.all()) {
      byStatus[p.status]++;
      total += p.milestones.length;
      completed += p.milestones.filter((m) => m.status === 'completed').length;
      runsInFlight += Object.keys(p.activeRuns).length;
    }
    return { total: this.#state.size, byStatus, milestones: { total, completed }, runsInFlight };
  }
}
