/** `getProjectStatus`: a project's record against the engine (its workflows registered?) and the disk (its files). */
import type { MessageBus } from '../../bus/bus.js';
import type { Project, ProjectStatusReport } from '../../model/project.js';
import { milestoneProgress } from '../../model/project.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import { presentFiles } from '../../projects/scaffold.js';

export async function statusReport(
  p: Project,
  bus: MessageBus,
  registry: ModuleRegistry,
): Promise<ProjectStatusReport> {
  const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
  const workflows = [];
  for (const w of p.workflows) {
    const registered = (await bus.request('workflow.get', { name: w })) !== null;
    workflows.push({ name: w, registered, ...(p.runs[w] ?? { runs: 0, successes: 0, failures: 0, lastRun: null }) });
  }
  const { present, missing } = await presentFiles(p.path, p.files);
  const modules = new Set(registry.list().map((a) => a.module));
  return {
    name: p.name,
    status: p.status,
    template: p.template,
    description: p.description,
    path: p.path,
    tags: p.tags,
    createdAt: iso(p.createdAt) ?? '',
    updatedAt: iso(p.updatedAt) ?? '',
    archivedAt: iso(p.archivedAt),
    archivePath: p.archivePath,
    config: p.config,
    workflows,
    runsInFlight: Object.keys(p.activeRuns).length,
    milestones: { ...milestoneProgress(p.milestones), items: p.milestones },
    files: { expected: p.files.length, present: present.length, missing },
    modules: { required: p.requiredModules, missing: p.requiredModules.filter((m) => !modules.has(m)) },
  };
}
