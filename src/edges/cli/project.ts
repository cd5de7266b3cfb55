import type { Command } from 'commander';
import { Option } from 'commander';
import type { Project, ProjectStatusReport } from '../../index.js';
import { printTable } from './format.js';
import { paramsOf, withParamFlags } from './context.js';
import type { CliContext } from './context.js';
import { followRun } from './runs.js';

function row(p: Project): Record<string, unknown> {
  return { name: p.name, template: p.template, status: p.status, tags: p.tags.join(','), path: p.path };
}

function printStatus(s: ProjectStatusReport): void {
  console.log(`${s.name} (${s.template}, ${s.status})${s.description ? `: ${s.description}` : ''}`);
  console.log(
    `path: ${s.path}\ncreated ${s.createdAt}, updated ${s.updatedAt}${s.archivedAt ? `, archived ${s.archivedAt}` : ''}`,
  );
  console.log(
    `files: ${s.files.present}/${s.files.expected} present${s.files.missing.length ? ` (missing: ${s.files.missing.join(', ')})` : ''}`,
  );
  console.log(
    `milestones: ${s.milestones.completed}/${s.milestones.total} (${Math.round(s.milestones.fraction * 100)}%)\n`,
  );
  printTable(
    s.workflows.map((w) => ({
      workflow: w.name,
      registered: w.registered,
      runs: w.runs,
      successes: w.successes,
      failures: w.failures,
      last: w.lastRun ? `${w.lastRun.status} (${w.lastRun.runId})` : '',
    })),
  );
}

/** `codomyrmex project list | templates | create NAME --template T | status NAME | run NAME WORKFLOW | archive NAME`. */
export function registerProjectCommands(program: Command, cli: CliContext): void {
  const project = program
    .command('project')
    .description(
      'scaffold projects from templates and follow them (projects go to ./projects unless CODOMYRMEX_PROJECTS_DIR says otherwise)',
    );

  project
    .command('list')
    .description('list projects')
    .addOption(new Option('--status <status>', 'only active or archived ones').choices(['active', 'archived']))
    .option('--tag <tag>', 'only those with this tag')
    .action(async (opts: { status?: 'active' | 'archived'; tag?: string }) => {
      const list = await cli.withAnyEngine((e) =>
        e.projects.listProjects({
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.tag ? { tag: opts.tag } : {}),
        }),
      );
      cli.out(list, () => printTable(list.map(row)));
    });

  project
    .command('templates')
    .description('list the project templates (config/templates and CODOMYRMEX_TEMPLATE_DIRS)')
    .action(async () => {
      const list = await cli.withAnyEngine((e) => e.projects.listTemplates());
      cli.out(list, () =>
        printTable(
          list.map((t) => ({
            name: t.name,
            version: t.version,
            workflows: t.workflows.join(', '),
            description: t.errors.length ? `INVALID: ${t.errors.join('; ')}` : t.description,
          })),
        ),
      );
    });

  project
    .command('create')
    .description('scaffold a project from a template')
    .argument('<name>', 'name of the new project')
    .option('-t, --template <template>', 'template name (see "project templates")', 'ai_analysis')
    .option('-d, --description <text>', 'what the project is for')
    .option(
      '--path <dir>',
      'its folder (default ./projects/NAME; elsewhere only inside a folder given with --allow-path)',
    )
    .option('-c, --config <json>', 'config overrides as a JSON object', (v) => cli.parseJsonObject(v))
    .option('--tag <tag...>', 'tags')
    .addHelpText(
      'after',
      `\nExamples:\n  codomyrmex project create my-project --template web_application\n  codomyrmex project create analysis -t ai_analysis -d 'code health' -c '{"analysis": {"max_line_length": 100}}'\n  codomyrmex project templates                      the templates`,
    )
    .option('--force', 'scaffold into a folder that is not empty')
    .action(
      async (
        name: string,
        opts: {
          template: string;
          description?: string;
          path?: string;
          config?: Record<string, unknown>;
          tag?: string[];
          force?: boolean;
        },
      ) => {
        const p = await cli.withAnyEngine((e) =>
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
        cli.out(p, () =>
          console.log(
            `created project "${p.name}" from ${p.template} in ${p.path} (workflows: ${p.workflows.join(', ') || 'none'})`,
          ),
        );
      },
    );

  project
    .command('status')
    .description("a project's workflow runs, milestones, config and files")
    .argument('<name>', 'project name')
    .action(async (name: string) => {
      const s = await cli.withAnyEngine((e) => e.projects.getProjectStatus(name));
      cli.out(s, () => printStatus(s));
    });

  withParamFlags(
    project
      .command('run')
      .description("run one of a project's workflows in the project's folder (live on a terminal)")
      .argument('<name>', 'project name')
      .argument('<workflow>', 'one of its workflows'),
  ).action(
    async (
      name: string,
      workflow: string,
      opts: { params?: Record<string, unknown>; param?: Record<string, unknown> },
    ) => {
      await cli.withAnyEngine(async (e) => {
        const w = await e.workflows.getWorkflow(workflow);
        return followRun(cli, e, w?.name ?? workflow, w?.steps.map((s) => s.name) ?? [], () =>
          e.executeProjectWorkflow(name, workflow, { params: paramsOf(opts) }),
        );
      });
    },
  );

  project
    .command('archive')
    .description('mark a project archived; --tarball also writes its folder as a .tar.gz')
    .argument('<name>', 'project name')
    .option('--tarball [file]', 'write a .tar.gz (default ./projects/archives/NAME.tar.gz)')
    .action(async (name: string, opts: { tarball?: boolean | string }) => {
      const p = await cli.withAnyEngine((e) =>
        e.projects.archiveProject(name, opts.tarball === undefined ? {} : { tarball: opts.tarball }),
      );
      cli.out(p, () => console.log(`archived project "${p.name}"${p.archivePath ? ` to ${p.archivePath}` : ''}`));
    });
}
