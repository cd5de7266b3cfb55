import type { RunRequest } from '../../bus/protocol.js';
import type {
  CreateProjectOptions,
  Milestone,
  MilestoneChanges,
  MilestoneInput,
  Project,
  ProjectChanges,
  ProjectStatus,
  ProjectStatusReport,
} from '../../model/project.js';
import type { WorkflowResult } from '../../model/workflow.js';
import type { ProjectTemplate, TemplateSummary } from '../../projects/template.js';
import { BusClient } from '../client.js';

/**
 * The project manager as the seed shows it (`getProjectManager()`). Every method is a request on the bus.
 *
 * @example
 * const pm = getProjectManager();
 * const project = await pm.createProject({ name: 'my_ai_project', templateName: 'ai_analysis', description: 'AI-powered code analysis project' });
 * const status = await pm.getProjectStatus('my_ai_project');
 */
export class ProjectManagerClient extends BusClient {
  /** The templates of the template folders; one whose file does not load is listed with its `errors`. */
  listTemplates(): Promise<TemplateSummary[]> {
    return this.request(() => this.bus.request('project.templates', {}));
  }

  /** A template, or a `NotFoundError` listing the known ones, or a `ValidationError` naming its file's bad fields. */
  getTemplate(name: string): Promise<ProjectTemplate> {
    return this.request(() => this.bus.request('project.template', { name }));
  }

  /**
   * Scaffolds a project from a template (default `ai_analysis`) into `path` (default `<projectsDir>/<name>`):
   * folders, rendered starter files, README files, `.codomyrmex/project.json`; registers the template's workflows
   * under it and stores it. Refuses bad names, unknown templates and non-empty folders (unless `force`), leaving
   * nothing behind; a failure half-way removes what was made.
   */
  createProject(options: CreateProjectOptions): Promise<Project> {
    return this.request(() => this.bus.request('project.create', options));
  }

  /** A project with its milestones; null when there is none. */
  getProject(name: string): Promise<Project | null> {
    return this.request(() => this.bus.request('project.get', { name }));
  }

  /** Every project, or those with a status or a tag. */
  listProjects(filter: { status?: ProjectStatus; tag?: string } = {}): Promise<Project[]> {
    return this.request(() => this.bus.request('project.list', filter));
  }

  /** Workflow runs and their last outcome, milestone progress, config, times, and files present against the template. */
  getProjectStatus(name: string): Promise<ProjectStatusReport> {
    return this.request(() => this.bus.request('project.status', { name }));
  }

  /** Changes a project's description, author or tags. */
  updateProject(name: string, changes: ProjectChanges): Promise<Project> {
    return this.request(() => this.bus.request('project.update', { name, changes }));
  }

  /** Marks it `archived`; `tarball: true` (or a path) also writes its folder as a `.tar.gz`. Archiving twice is refused. */
  archiveProject(name: string, options: { tarball?: boolean | string } = {}): Promise<Project> {
    return this.request(() => this.bus.request('project.archive', { name, ...options }));
  }

  /** Forgets a project; `removeFiles` also deletes its folder. */
  deleteProject(
    name: string,
    options: { removeFiles?: boolean } = {},
  ): Promise<{ deleted: boolean; removedFiles: boolean }> {
    return this.request(() => this.bus.request('project.delete', { name, ...options }));
  }

  /** Adds a milestone; one that names `workflows` completes itself once each has run successfully in the project. */
  addMilestone(project: string, milestone: MilestoneInput): Promise<Milestone> {
    return this.request(() => this.bus.request('project.add_milestone', { name: project, milestone }));
  }

  /** Changes a milestone of a project (its status, description, due date or workflows). */
  updateMilestone(project: string, milestone: string, changes: MilestoneChanges): Promise<Milestone> {
    return this.request(() => this.bus.request('project.update_milestone', { name: project, milestone, changes }));
  }

  /** Completes a milestone (emits `milestone_completed`). */
  completeMilestone(project: string, milestone: string): Promise<Milestone> {
    return this.request(() => this.bus.request('project.complete_milestone', { name: project, milestone }));
  }

  /** The config value at a dotted key (`analysis.max_file_size`), or the whole config without one. */
  async getProjectConfig(name: string, key?: string): Promise<unknown> {
    return (
      await this.request(() => this.bus.request('project.get_config', key === undefined ? { name } : { name, key }))
    ).value;
  }

  /** Sets a config value by dotted key, checked against the template default's type, and saves it to the manifest. */
  async setProjectConfig(name: string, key: string, value: unknown): Promise<Record<string, unknown>> {
    return (await this.request(() => this.bus.request('project.set_config', { name, key, value }))).config;
  }

  /** Starts one of the project's workflows in its folder and answers with its run id (follow it with `waitForRun`). */
  async startProjectWorkflow(
    project: string,
    workflow: string,
    options: Omit<RunRequest, 'workingDir' | 'project' | 'version'> = {},
  ): Promise<string> {
    return (
      await this.request(() => this.bus.request('project.start_workflow', { name: project, workflow, ...options }))
    ).runId;
  }

  /** Runs one of the project's workflows in its folder (see `engine.executeProjectWorkflow`). */
  executeProjectWorkflow(
    project: string,
    workflow: string,
    options: Omit<RunRequest, 'workingDir' | 'project' | 'version'> = {},
  ): Promise<WorkflowResult> {
    return this.request(() => this.bus.request('project.run_workflow', { name: project, workflow, ...options }));
  }
}
