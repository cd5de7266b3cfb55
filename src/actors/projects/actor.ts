/**
 * The ProjectManager component: an actor (systemId `projectManager`) that owns a {@link ProjectManager} and serves
 * the `project.*` commands. It follows `workflow_completed` to count the runs of project workflows, including runs
 * resumed after a restart.
 */
import { fromCallback } from 'xstate';
import type { Command } from '../../bus/protocol.js';
import { NotFoundError } from '../../errors.js';
import type { ComponentControl } from '../../machines/runtime.js';
import type { ComponentDeps } from '../deps.js';
import { ProjectManager } from './manager.js';

/** Answers one `project.*` command. */
export function handleProjectCommand(pm: ProjectManager, command: Command): unknown {
  switch (command.type) {
    case 'project.templates':
      return pm.templates();
    case 'project.template':
      return pm.template(command.payload.name);
    case 'project.create':
      return pm.create(command.payload);
    case 'project.get':
      return pm.get(command.payload.name);
    case 'project.list':
      return pm.list(command.payload);
    case 'project.status':
      return pm.status(command.payload.name);
    case 'project.update':
      return pm.update(command.payload.name, command.payload.changes);
    case 'project.archive':
      return pm.archive(command.payload.name, command.payload.tarball);
    case 'project.delete':
      return pm.delete(command.payload.name, command.payload.removeFiles);
    case 'project.add_milestone':
      return pm.addMilestone(command.payload.name, command.payload.milestone);
    case 'project.update_milestone':
      return pm.updateMilestone(command.payload.name, command.payload.milestone, command.payload.changes);
    case 'project.complete_milestone':
      return pm.completeMilestone(command.payload.name, command.payload.milestone);
    case 'project.get_config':
      return pm.getConfig(command.payload.name, command.payload.key);
    case 'project.set_config':
      return pm.setConfig(command.payload.name, command.payload.key, command.payload.value);
    case 'project.run_workflow': {
      const { name, workflow, ...req } = command.payload;
      return pm.runWorkflow(name, workflow, req);
    }
    case 'project.start_workflow': {
      const { name, workflow, ...req } = command.payload;
      return pm.startWorkflow(name, workflow, req);
    }
    case 'project.stats':
      return pm.stats();
    default:
      throw new NotFoundError(`unknown command "${command.type}"`);
  }
}

/** The actor logic, closed over the engine's shared parts. */
export function projectManagerLogic(deps: ComponentDeps) {
  return fromCallback<ComponentControl>(({ sendBack, receive }) => {
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
    const t0 = performance.now();
    const recovered = pm.recover();
    if (deps.store.persistent) {
      const { byStatus, runsInFlight } = pm.stats();
      bus.publish('recovery', { component: 'projectManager', store: deps.store.location, resumed: runsInFlight, byStatus: { projects: recovered, ...byStatus }, ids: [], rerun: [], executing: true, durationMs: performance.now() - t0 });
    }
    const runs = bus.events$('workflow_completed').subscribe((e) => {
      if (e.type === 'workflow_completed') void pm.runEnded(e.data).catch(() => undefined);
    });
    const stop = bus.serve('project', (command) => handleProjectCommand(pm, command));
    receive((event) => {
      if (event.type === 'component.drain') {
        pm.close();
        sendBack({ type: 'component.drained', component: 'projectManager' });
      }
    });
    return () => {
      runs.unsubscribe();
      stop();
    };
  });
}
