/**
 * The ProjectManager's state: projects (with their milestones and workflow runs), kept in memory, written to the
 * store through the engine's group committer and mirrored to each project's manifest. Commands on one project run
 * one at a time. The actor in `actor.ts` serves it on the bus.
 *
 * Just past 400 lines: the project commands share one per-project serial queue and one save path; templates,
 * scaffolding, milestones, config and status already live in their own files beside it.
 */
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve, isAbsolute } from 'node:path';
import type { MessageBus } from '../../bus/bus.js';
import type { RunRequest } from '../../bus/protocol.js';
import { AlreadyExistsError, NotFoundError, ShuttingDownError, ValidationError } from '../../errors.js';
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
import { milestoneProgress } from '../../model/project.js';
import { didYouMean } from '../../model/validate.js';
import type { WorkflowResult } from '../../model/workflow.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import { writeTarball } from '../../projects/archive.js';
import { getConfigValue, setConfigValue } from '../../projects/config.js';
import type { ScaffoldHooks } from '../../projects/scaffold.js';
import { writeScaffold } from '../../projects/scaffold.js';
import type { ProjectTemplate, TemplateSummary } from '../../projects/template.js';
import { loadTemplates, requireTemplate, summarize } from '../../projects/template.js';
import type { GroupCommitter } from '../../store/commits.js';
import { RecordQueue } from '../../store/commits.js';
import type { Store } from '../../store/store.js';
import { checkCreateOptions, checkProjectPath, checkTarget, MANIFEST, manifestText, prepareProject } from './create.js';
import * as milestones from './milestones.js';
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

type RunOutcome = Pick<WorkflowResult, 'runId' | 'status' | 'success' | 'durationMs'>;

export class ProjectManager {
  readonly #deps: ProjectManagerDeps;
  readonly #now: () => number;
  readonly #projects = new Map<string, Project>();
  /** Names being created: a second create of one waits for nothing and is refused. */
  readonly #creating = new Set<string>();
  /** Run id → project, for runs in flight. */
  readonly #runOwners = new Map<string, string>();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #records: RecordQueue | null;
  #closing = false;

  constructor(deps: ProjectManagerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#records = deps.commits && deps.store?.persistent === true ? new RecordQueue(deps.commits) : null;
  }

  /** Loads the projects from the store. Call once, before any command. */
  recover(): number {
    const store = this.#deps.store;
    if (!store?.persistent) return 0;
    const records = store.listRecords<Project>('projects');
    for (const r of records) {
      this.#projects.set(r.data.name, r.data);
      for (const runId of Object.keys(r.data.activeRuns)) this.#runOwners.set(runId, r.data.name);
    }
    return records.length;
  }

  close(): void {
    this.#closing = true;
  }

  /** Runs `fn` after the commands already queued on project `name`. */
  #serial<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.#locks.set(name, tail);
    void tail.then(() => {
      if (this.#locks.get(name) === tail) this.#locks.delete(name);
    });
    return next;
  }

  #require(name: unknown): Project {
    if (typeof name !== 'string' || name === '') throw new ValidationError('name: give the name of a project');
    const p = this.#projects.get(name);
    if (p) return p;
    const hint = didYouMean(name, this.#projects.keys());
    throw new NotFoundError(
      `no project named "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; create it with createProject({ name, templateName }) or list them with listProjects()`,
    );
  }

  #requireActive(name: unknown, doing: string): Project {
    const p = this.#require(name);
    if (p.status === 'archived') throw new ValidationError(`project "${p.name}" is archived; it cannot ${doing}`);
    return p;
  }

  /** Stores a changed project: manifest first (so a failing disk changes nothing), then memory and the store. */
  async #save(next: Project, manifest: 'required' | 'best-effort' = 'required'): Promise<Project> {
    try {
      const file = join(next.path, MANIFEST);
      const partial = `${file}.partial`;
      await writeFile(partial, manifestText(next));
      await rename(partial, file);
    } catch (err) {
      if (manifest === 'required')
        throw new ValidationError(
          `project "${next.name}": cannot write its manifest ${join(next.path, MANIFEST)} (${(err as Error).message}); is its folder still there?`,
          { cause: err },
        );
    }
    this.#projects.set(next.name, next);
    this.#persist(next);
    return this.#acked(next);
  }

  #persist(p: Project): void {
    this.#records?.write('projects', p.name, {
      kind: 'projects',
      id: p.name,
      parent: p.template,
      status: p.status,
      data: p,
    });
  }

  #acked<T>(value: T): Promise<T> {
    const commits = this.#deps.commits;
    return this.#deps.ackOnCommit && commits && this.#records ? commits.afterCommit(value) : Promise.resolve(value);
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
    const existing = this.#projects.get(o.name);
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
      const clash = [...this.#projects.values()].find((p) => p.path === project.path);
      if (clash) throw new ValidationError(`path: ${project.path} is already the folder of project "${clash.name}"`);
      await checkTarget(project.path, o.force === true);
      const undo = await writeScaffold(project.path, plan, this.#deps.scaffoldHooks);
      this.#projects.set(project.name, project);
      this.#persist(project);
      try {
        await this.#acked(project);
      } catch (err) {
        this.#projects.delete(project.name);
        this.#records?.write('projects', project.name, { kind: 'projects', id: project.name, delete: true });
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
    return this.#projects.get(name) ?? null;
  }

  list(filter: { status?: ProjectStatus; tag?: string } = {}): Project[] {
    return [...this.#projects.values()]
      .filter(
        (p) =>
          (filter.status === undefined || p.status === filter.status) &&
          (filter.tag === undefined || p.tags.includes(filter.tag)),
      )
      .sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
  }

  update(name: string, changes: ProjectChanges): Promise<Project> {
    return this.#serial(name, async () => {
      const p = this.#requireActive(name, 'be changed');
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
      return this.#save({
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
    return this.#serial(name, async () => {
      const p = this.#require(name);
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
      const saved = await this.#save(next);
      this.#deps.bus.publish('project_archived', { name: p.name, path: p.path, archivePath: file });
      return saved;
    });
  }

  /** Forgets the project; with `removeFiles`, deletes its folder too (only a folder holding its manifest). */
  delete(name: string, removeFiles = false): Promise<{ deleted: boolean; removedFiles: boolean }> {
    return this.#serial(name, async () => {
      const p = this.#require(name);
      if (Object.keys(p.activeRuns).length)
        throw new ValidationError(`project "${p.name}" has workflow runs in flight; wait for them before deleting it`);
      let removedFiles = false;
      if (removeFiles) {
        if (await stat(join(p.path, MANIFEST)).catch(() => null)) {
          await rm(p.path, { recursive: true, force: true });
          removedFiles = true;
        }
      }
      this.#projects.delete(p.name);
      this.#records?.write('projects', p.name, { kind: 'projects', id: p.name, delete: true });
      return this.#acked({ deleted: true, removedFiles });
    });
  }

  status(name: string): Promise<ProjectStatusReport> {
    return statusReport(this.#require(name), this.#deps.bus, this.#deps.registry());
  }

  // ---------------------------------------------------------------- config

  getConfig(name: string, key?: string): { value: unknown } {
    return { value: getConfigValue(this.#require(name).config, key) };
  }

  setConfig(name: string, key: string, value: unknown): Promise<{ config: Record<string, unknown> }> {
    return this.#serial(name, async () => {
      const p = this.#requireActive(name, 'change its config');
      const config = setConfigValue(p.config, p.defaultConfig, key, value);
      const saved = await this.#save({ ...p, config, updatedAt: this.#now() });
      return { config: saved.config };
    });
  }

  // ---------------------------------------------------------------- milestones

  #announce(p: Project, names: string[], byRun: string | null): void {
    const progress = milestoneProgress(p.milestones).fraction;
    for (const m of names) {
      const done = p.milestones.find((x) => x.name === m);
      this.#deps.bus.publish('milestone_completed', {
        project: p.name,
        milestone: m,
        completedAt: done?.completedAt ?? this.#now(),
        progress,
        byRun,
      });
    }
  }

  addMilestone(name: string, input: MilestoneInput): Promise<Milestone> {
    return this.#serial(name, async () => {
      const p = this.#requireActive(name, 'take new milestones');
      const saved = await this.#save({
        ...p,
        milestones: milestones.addMilestone(p, input, this.#now()),
        updatedAt: this.#now(),
      });
      return milestones.findMilestone(saved, input.name);
    });
  }

  updateMilestone(name: string, milestone: string, changes: MilestoneChanges): Promise<Milestone> {
    return this.#serial(name, async () => {
      const p = this.#requireActive(name, 'change its milestones');
      const saved = await this.#save({
        ...p,
        milestones: milestones.updateMilestone(p, milestone, changes, this.#now()),
        updatedAt: this.#now(),
      });
      return milestones.findMilestone(saved, milestone);
    });
  }

  completeMilestone(name: string, milestone: string): Promise<Milestone> {
    return this.#serial(name, async () => {
      const p = this.#requireActive(name, 'complete milestones');
      const saved = await this.#save({
        ...p,
        milestones: milestones.completeMilestone(p, milestone, this.#now()),
        updatedAt: this.#now(),
      });
      this.#announce(saved, [milestone], null);
      return milestones.findMilestone(saved, milestone);
    });
  }

  // ---------------------------------------------------------------- workflows

  /**
   * Runs one of the project's workflows to its end, in the project's folder, with `{{project.config.x}}`; counts
   * its outcome in the project and towards the milestones that name it.
   */
  async runWorkflow(
    name: string,
    workflow: string,
    req: Omit<RunRequest, 'workingDir' | 'project' | 'version'> = {},
  ): Promise<WorkflowResult> {
    const { runId, project } = await this.#start(name, workflow, req);
    return this.#finish(project, runId);
  }

  /**
   * Starts one of the project's workflows and answers with its run id at once (over the network a run is not one
   * held-open request: follow it with `workflow.wait_for` or its end event); its outcome is counted as it ends.
   */
  async startWorkflow(
    name: string,
    workflow: string,
    req: Omit<RunRequest, 'workingDir' | 'project' | 'version'> = {},
  ): Promise<{ runId: string }> {
    const { runId, project } = await this.#start(name, workflow, req);
    this.#finish(project, runId).catch(() => undefined);
    return { runId };
  }

  async #finish(project: string, runId: string): Promise<WorkflowResult> {
    const result = await this.#deps.bus.request('workflow.wait_run', { runId });
    // After the count its `workflow_completed` event may have queued, so the caller sees the run counted.
    await this.#serial(project, () => this.#recordEnd(project, result));
    return result;
  }

  async #start(
    name: string,
    workflow: string,
    req: Omit<RunRequest, 'workingDir' | 'project' | 'version'>,
  ): Promise<{ runId: string; project: string }> {
    if (this.#closing) throw new ShuttingDownError();
    const p = this.#requireActive(name, 'run workflows');
    if (!p.workflows.includes(workflow)) {
      const hint = didYouMean(String(workflow), p.workflows);
      throw new NotFoundError(
        `workflow: project "${p.name}" has no workflow "${workflow}"${hint ? ` (did you mean "${hint}"?)` : ''}; its workflows: ${p.workflows.join(', ') || '(none)'}`,
      );
    }
    if (!(await stat(p.path).catch(() => null))?.isDirectory())
      throw new ValidationError(`project "${p.name}": its folder ${p.path} is gone; restore it or delete the project`);
    const { runId } = await this.#deps.bus.request('workflow.start', {
      name: workflow,
      params: req.params ?? {},
      ...(req.sessionId !== undefined ? { sessionId: req.sessionId } : {}),
      ...(req.traceparent !== undefined ? { traceparent: req.traceparent } : {}),
      workingDir: p.path,
      project: { name: p.name, path: p.path, config: p.config },
    });
    this.#runOwners.set(runId, p.name);
    await this.#serial(p.name, async () => {
      const cur = this.#require(p.name);
      await this.#save({ ...cur, activeRuns: { ...cur.activeRuns, [runId]: workflow } }, 'best-effort');
    });
    return { runId, project: p.name };
  }

  /** A run ended (its `workflow_completed` event): count it once, in its project. */
  runEnded(outcome: RunOutcome): Promise<void> {
    const owner = this.#runOwners.get(outcome.runId);
    if (owner === undefined) return Promise.resolve();
    return this.#serial(owner, () => this.#recordEnd(owner, outcome));
  }

  /** Counts a run that ended in its project and towards its milestones; a run already counted is ignored. */
  async #recordEnd(owner: string, outcome: RunOutcome): Promise<void> {
    const p = this.#projects.get(owner);
    const workflow = p?.activeRuns[outcome.runId];
    if (!p || workflow === undefined) return;
    this.#runOwners.delete(outcome.runId);
    const now = this.#now();
    const activeRuns = { ...p.activeRuns };
    delete activeRuns[outcome.runId];
    const prev = p.runs[workflow] ?? { runs: 0, successes: 0, failures: 0, lastRun: null };
    const stats = {
      runs: prev.runs + 1,
      successes: prev.successes + (outcome.success ? 1 : 0),
      failures: prev.failures + (outcome.success ? 0 : 1),
      lastRun: {
        runId: outcome.runId,
        status: outcome.status,
        success: outcome.success,
        endedAt: now,
        durationMs: outcome.durationMs,
      },
    };
    const done = outcome.success
      ? milestones.recordSuccess(p, workflow, outcome.runId, now)
      : { milestones: p.milestones, completed: [] };
    const saved = await this.#save(
      { ...p, activeRuns, runs: { ...p.runs, [workflow]: stats }, milestones: done.milestones, updatedAt: now },
      'best-effort',
    );
    this.#announce(saved, done.completed, outcome.runId);
  }

  stats(): ProjectCounts {
    const byStatus: Record<ProjectStatus, number> = { active: 0, archived: 0 };
    let total = 0;
    let completed = 0;
    let runsInFlight = 0;
    for (const p of this.#projects.values()) {
      byStatus[p.status]++;
      total += p.milestones.length;
      completed += p.milestones.filter((m) => m.status === 'completed').length;
      runsInFlight += Object.keys(p.activeRuns).length;
    }
    return { total: this.#projects.size, byStatus, milestones: { total, completed }, runsInFlight };
  }
}
