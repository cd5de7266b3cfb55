/**
 * The ProjectManager component: an actor (systemId `projectManager`) that owns a {@link ProjectManager} and serves
 * the `project.*` commands. It follows `workflow_completed` to count the runs of project workflows, including runs
 * resumed after a restart.
 */
import type { Subscription } from 'rxjs';
import type { CommandHandlers } from '../../bus/bus.js';
import { serializeError } from '../../errors.js';
import { componentLogic } from '../component.js';
import type { ComponentDeps } from '../deps.js';
import { ProjectManager } from './manager.js';

/** The `project.*` commands over one project manager. */
export function projectHandlers(pm: ProjectManager): CommandHandlers<'project'> {
  return {
    'project.templates': () => pm.templates(),
    'project.template': (p) => pm.template(p.name),
    'project.create': (p) => pm.create(p),
    'project.get': (p) => pm.get(p.name),
    'project.list': (p) => pm.list(p),
    'project.status': (p) => pm.status(p.name),
    'project.update': (p) => pm.update(p.name, p.changes),
    'project.archive': (p) => pm.archive(p.name, p.tarball),
    'project.delete': (p) => pm.delete(p.name, p.removeFiles),
    'project.add_milestone': (p) => pm.addMilestone(p.name, p.milestone),
    'project.update_milestone': (p) => pm.updateMilestone(p.name, p.milestone, p.changes),
    'project.complete_milestone': (p) => pm.completeMilestone(p.name, p.milestone),
    'project.get_config': (p) => pm.getConfig(p.name, p.key),
    'project.set_config': (p) => pm.setConfig(p.name, p.key, p.value),
    'project.run_workflow': ({ name, workflow, ...req }) => pm.runWorkflow(name, workflow, req),
    'project.start_workflow': ({ name, workflow, ...req }) => pm.startWorkflow(name, workflow, req),
    'project.stats': () => pm.stats(),
  };
}

/** The actor logic, closed over the engine's shared parts. */
export function projectManagerLogic(deps: ComponentDeps) {
  return componentLogic('projectManager', deps, () => {
    const { bus } = deps;
    const pm = new ProjectManager({
      bus,
      registry: deps.registry,
      templateDirs: deps.options.templateDirs,
      projectsDir: deps.options.projectsDir,
      allowedProjectRoots: deps.options.allowedProjectRoots,
      store: deps.store,
      commits: deps.commits,
      ackOnCommit: deps.options.durability === 'strict' && deps.store.persistent,
    });
    let runs: Subscription | null = null;
    return {
      handlers: { project: projectHandlers(pm) },
      recover: () => {
        const projects = pm.recover();
        // Runs are counted from here on, over the projects just restored; one that cannot be counted is reported.
        runs = bus.events$('workflow_completed').subscribe((e) => {
          if (e.type !== 'workflow_completed') return;
          pm.runEnded(e.data).catch((err: unknown) =>
            bus.publish('component_error', {
              component: 'projectManager',
              operation: `counting run ${e.data.runId}`,
              error: serializeError(err),
            }),
          );
        });
        const { byStatus, runsInFlight } = pm.stats();
        return { resumed: runsInFlight, byStatus: { projects, ...byStatus }, ids: [], rerun: [], executing: true };
      },
      drain: () => pm.close(),
      dispose: () => runs?.unsubscribe(),
    };
  });
}
