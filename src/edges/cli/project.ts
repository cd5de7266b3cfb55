import type { Command } from 'commander';
import type { Project, ProjectStatusReport } from '../../index.js';
import { printTable } from './format.js';
import type { CliContext } from './workflow.js';

function row(p: Project): Record<string, unknown> {
  return { name: p.name, template: p.template, status: p.status, tags: p.tags.join(','), path: p.path };
}

function printStatus(s: ProjectStatusReport): void {
  console.log(`${s.name} (${s.template}, ${s.status})${s.description ? `: ${s.description}` : ''}`);
  console.log(`path: ${s.path}\ncreated ${s.createdAt}, updated ${s.updatedAt}${s.archivedAt ? `, archived ${s.archivedAt}` : ''}`);
  console.log(`files: ${s.files.present}/${s.files.expected} present${s.files.missing.length ? ` (missing: ${s.files.missing.join(', ')})` : ''}`);
  console.log(`milestones: ${s.milestones.completed}/${s.milestones.total} (${Math.round(s.milestones.fraction * 100)}%)\n`);
  printTable(s.workflows.map((w) => ({ workflow: w.name, registered: w.registered, runs: w.runs, successes: w.successes, failures: w.failures, last: w.lastRun ? `${w.lastRun.status} (${w.lastRun.runId})` : '' })));
}

/** `codomyrmex project list | templates | create NAME --template T | status NAME | run NAME WORKFLOW | archive NAME`. */
export function registerProjectCommands(program: Command, cli: CliContext): void {
  const project = program.command('project').description('scaffold projects from templates and follow them (projects go to ./projects unless CODOMYRMEX_PROJECTS_DIR says otherwise)');

  project
    .command('list')
    .description('list projects')
    .option('--status <status>', 'only active or archived ones')
    .option('--tag <tag>', 'only those with this tag')
    .option('--json', 'print as JSON')
    .action(async (opts: { status?: 'active' | 'archived'; tag?: string; json?: boolean }) => {
      const list = await cli.withEngine((e) => e.projects.listProjects({ ...(opts.status ? { status: opts.status } : {}), ...(opts.tag ? { tag: opts.tag } : {}) }));
      if (opts.json) console.log(JSON.stringify(list, null, 2));
      else printTable(list.map(row));
    });

  project
    .command('templates')
    .description('list the project templates (config/templates and CODOMYRMEX_TEMPLATE_DIRS)')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const list = await cli.withEngine((e) => e.projects.listTemplates());
      if (opts.json) console.log(JSON.stringify(list, null, 2));
      else printTable(list.map((t) => ({ name: t.name, version: t.version, workflows: t.workflows.join(', '), description: t.errors.length ? `INVALID: ${t.errors.join('; ')}` : t.description })));
    });

  project
    .command('create')
    .description('scaffold a project from a template')
    .argument('<name>', 'name of the new project')
    .option('-t, --template <template>', 'template name (see "project templates")', 'ai_analysis')
    .option('-d, --description <text>', 'what the project is for')
    .option('--path <dir>', 'its folder (default ./projects/NAME)')
    .option('-c, --config <json>', 'config overrides as a JSON object', (v) => cli.parseJsonObject(v))
    .option('--tag <tag...>', 'tags')
    .option('--force', 'scaffold into a folder that is not empty')
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { template: string; description?: string; path?: string; config?: Record<string, unknown>; tag?: string[]; force?: boolean; json?: boolean }) => {
      const p = await cli.withEngine((e) =>
        e.projects.createProject({
          name,
          templateName: opts.template,
          ...(opts.description !== undefined ? { description: opts.description } : {}),
          ...(opts.path !== undefined ? { path: opts.path } : {}),
          ...(opts.config ? { config: opts.config } : {}),
          ...(opts.tag ? { tags: opts.tag } : {}),
          ...(opts.force ? { force: true } : {}),
        }),
      );
      if (opts.json) console.log(JSON.stringify(p, null, 2));
      else console.log(`created project "${p.name}" from ${p.template} in ${p.path} (workflows: ${p.workflows.join(', ') || 'none'})`);
    });

  project
    .command('status')
    .description("a project's workflow runs, milestones, config and files")
    .argument('<name>', 'project name')
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const s = await cli.withEngine((e) => e.projects.getProjectStatus(name));
      if (opts.json) console.log(JSON.stringify(s, null, 2));
      else printStatus(s);
    });

  project
    .command('run')
    .description("run one of a project's workflows in the project's folder")
    .argument('<name>', 'project name')
    .argument('<workflow>', 'one of its workflows')
    .option('-p, --params <json>', 'run parameters as a JSON object ({{params.x}})', (v) => cli.parseJsonObject(v), {})
    .option('--json', 'print the result as JSON')
    .action(async (name: string, workflow: string, opts: { params: Record<string, unknown>; json?: boolean }) => {
      const result = await cli.withEngine((e) => e.executeProjectWorkflow(name, workflow, { params: opts.params }));
      if (opts.json) console.log(JSON.stringify(result, null, 2));
      else {
        printTable(Object.values(result.steps).map((s) => ({ step: s.step, status: s.status, ms: s.durationMs, error: s.error ? s.error.message : '' })));
        console.log(`\n${name}: workflow ${result.workflowName} run ${result.runId}: ${result.status} in ${result.durationMs} ms`);
      }
      process.exitCode = result.success ? 0 : 1;
    });

  project
    .command('archive')
    .description('mark a project archived; --tarball also writes its folder as a .tar.gz')
    .argument('<name>', 'project name')
    .option('--tarball [file]', 'write a .tar.gz (default ./projects/archives/NAME.tar.gz)')
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { tarball?: boolean | string; json?: boolean }) => {
      const p = await cli.withEngine((e) => e.projects.archiveProject(name, opts.tarball === undefined ? {} : { tarball: opts.tarball }));
      if (opts.json) console.log(JSON.stringify(p, null, 2));
      else console.log(`archived project "${p.name}"${p.archivePath ? ` to ${p.archivePath}` : ''}`);
    });
}
