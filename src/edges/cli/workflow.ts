import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { criticalPath, toMermaid, topologicalLevels } from '../../dag/graph.js';
import { describeStep } from '../../workflows/kinds.js';
import { AlreadyExistsError, NotFoundError, ValidationError } from '../../errors.js';
import type { WorkflowPlan } from '../mcp/plan.js';
import { EXIT, paramsOf, withParamFlags } from './context.js';
import type { CliContext } from './context.js';
import { ms, printTable } from './format.js';
import { USER_WORKFLOW_DIR } from './paths.js';
import type { CliEngine } from './remote.js';
import { followRun } from './runs.js';
import { bytes } from './artifacts.js';
import type { Uploaded } from './upload.js';

export { USER_WORKFLOW_DIR };

function printPlan(p: WorkflowPlan): void {
  for (const err of p.errors) console.log(`error: ${err}`);
  for (const w of p.warnings) console.log(`warning: ${w}`);
  if (!p.valid) return;
  printTable(
    p.steps.map((s) => ({
      step: s.name,
      action: s.action,
      after: s.dependencies.join(', '),
      timeout: s.timeoutSeconds === null ? '' : ms(s.timeoutSeconds * 1000),
      resources: Object.keys(s.resources).length ? JSON.stringify(s.resources) : '',
    })),
  );
  console.log(`\nlevels: ${p.levels.map((l) => `[${l.join(', ')}]`).join(' -> ')}`);
  console.log(`critical path: ${p.criticalPath.join(' -> ')}`);
  for (const r of p.resources)
    console.log(`resource ${r.resource}: up to ${r.peak} ${r.unit} at once (capacity ${r.capacity ?? 'unknown'})`);
}

/**
 * What `workflow create` copies: a workflow the engine knows (its report paths renamed for the copy, so the copy
 * does not overwrite the template's reports) or a definition file.
 */
async function definitionToCopy(
  engine: CliEngine,
  name: string,
  opts: { template?: string; file?: string },
): Promise<Record<string, unknown>> {
  if (opts.file !== undefined) {
    const { readDefinitionFile } = await import('../../workflows/loader.js');
    return (await readDefinitionFile(resolve(opts.file))) as Record<string, unknown>;
  }
  const t = await engine.workflows.getWorkflow(opts.template ?? '');
  if (!t) throw new NotFoundError(`no workflow "${opts.template ?? ''}" to copy; see "codomyrmex workflow list"`);
  const params = Object.fromEntries(
    Object.entries(t.params ?? {}).map(([k, v]) => [k, typeof v === 'string' ? ownReportPath(v, t.name, name) : v]),
  );
  return {
    description: t.description,
    params,
    steps: t.steps,
    ...(t.parallelGroups ? { parallelGroups: t.parallelGroups } : {}),
  };
}

/** `.codomyrmex/reports/ai-analysis.svg` becomes `.codomyrmex/reports/NAME.svg` for a copy named NAME. */
export function ownReportPath(value: string, template: string, name: string): string {
  const escaped = template.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return value.replace(new RegExp(`(^|/)(reports/)${escaped}(?=$|[./])`), `$1$2${name}`);
}

export function registerWorkflowCommands(program: Command, cli: CliContext): void {
  const wf = program.command('workflow').description('define, inspect and run workflows');

  wf.command('list')
    .description('list the workflows this engine knows (shipped templates and .codomyrmex/workflows)')
    .action(async () => {
      const list = await cli.withAnyEngine((e) => e.workflows.listWorkflows());
      cli.out(list, (l) =>
        printTable(l.map((w) => ({ name: w.name, version: w.version, steps: w.steps, description: w.description }))),
      );
    });

  wf.command('create')
    .description(
      'create a workflow from a template (or a file) into .codomyrmex/workflows/NAME.yaml; with --nats, on the daemon',
    )
    .argument('<name>', 'name of the new workflow')
    .option('-t, --template <template>', 'an existing workflow to copy, e.g. ai-analysis')
    .option('-f, --file <path>', 'a YAML/JSON definition to copy')
    .option('--force', 'overwrite an existing file (with --nats: store the definition as the next version)')
    .addHelpText(
      'after',
      '\nExamples:\n  codomyrmex workflow create my-workflow --template ai-analysis\n  codomyrmex workflow create etl --file ./etl.yaml --force\n  codomyrmex workflow create etl --file ./etl.yaml --nats nats://127.0.0.1:4222   validated and stored by the daemon\n\nExit codes: 0 created, 2 invalid definition, 3 no such template, 5 NAME exists (pass --force).',
    )
    .action(async (name: string, opts: { template?: string; file?: string; force?: boolean }) => {
      if (!opts.template === !opts.file)
        throw new InvalidArgumentError('give exactly one of --template NAME or --file PATH');
      const daemon = cli.daemonAddress();
      if (daemon !== undefined) {
        const created = await cli.withAnyEngine(async (e) => {
          const definition = { ...(await definitionToCopy(e, name, opts)), name };
          const existing = await e.workflows.getWorkflow(name);
          if (existing?.name === name && !opts.force) {
            throw new AlreadyExistsError(
              `workflow "${name}" already exists on the daemon (version ${existing.version}); pick another name, or pass --force to store this definition as its next version`,
            );
          }
          // The daemon validates against its own modules and keeps the definition in its state.
          const { workflow, warnings } = await e.workflows.defineWorkflow(definition);
          return { name: workflow.name, version: workflow.version, steps: workflow.steps.length, warnings, daemon };
        });
        cli.out(created, (c) => {
          for (const w of c.warnings) console.log(`warning: ${w}`);
          console.log(`created workflow "${c.name}" v${c.version} (${c.steps} steps) on the daemon at ${c.daemon}`);
        });
        return;
      }
      const target = resolve(USER_WORKFLOW_DIR, `${name}.yaml`);
      if (existsSync(target) && !opts.force)
        throw new AlreadyExistsError(`${target} already exists; pick another name or pass --force`);
      // Only definition files and the modules are needed: an engine without the store (a daemon may hold its lock).
      const created = await cli.withEngine(
        async (e) => {
          const definition: Record<string, unknown> = {
            ...(await definitionToCopy(e, name, opts)),
            name,
            version: '1',
          };
          const v = await e.workflows.validateWorkflow(definition);
          if (!v.valid) throw new ValidationError(v.errors);
          const { stringify } = await import('yaml');
          await mkdir(resolve(USER_WORKFLOW_DIR), { recursive: true });
          await writeFile(target, stringify(definition));
          return {
            name,
            file: target,
            steps: Array.isArray(definition['steps']) ? definition['steps'].length : 0,
            warnings: v.warnings,
          };
        },
        { store: 'memory' },
      );
      cli.out(created, (c) => {
        for (const w of c.warnings) console.log(`warning: ${w}`);
        console.log(`created workflow "${c.name}" (${c.steps} steps) in ${c.file}`);
      });
    });

  withParamFlags(
    wf
      .command('run')
      .description('run a workflow to its end, step by step (live on a terminal); Ctrl-C cancels it')
      .argument('<name>', 'workflow name'),
  )
    .option('--workflow-version <version>', 'run this version instead of the latest')
    .option(
      '--idempotency-key <key>',
      "follow the earlier run started with this key (within the engine's idempotencyTtlSeconds) instead of starting another",
    )
    .option(
      '--upload [params]',
      "send the files of parameters that name a local file or folder (all such, or the comma-separated names) to the engine as the run's inputs, so workers on other machines get them",
    )
    .addHelpText(
      'after',
      `\nExamples:\n  codomyrmex workflow run ai-analysis --param path=src\n  codomyrmex workflow run ai-analysis --param path=src --upload --nats nats://127.0.0.1:4222   src is sent to the daemon's workers\n  codomyrmex workflow run nightly --idempotency-key nightly-2026-12-07   a second call follows the first run\n  codomyrmex workflow run ai-analysis --params '{"path": "src"}' --json\n  codomyrmex workflow run etl --workflow-version 2 --nats nats://127.0.0.1:4222   on a running daemon\n\nExit codes: 0 succeeded, 1 the run failed, 2 bad input, 3 no such workflow, 130 Ctrl-C (the run is cancelled).`,
    )
    .action(
      async (
        name: string,
        opts: {
          params?: Record<string, unknown>;
          param?: Record<string, unknown>;
          workflowVersion?: string;
          idempotencyKey?: string;
          upload?: true | string;
        },
      ) => {
        await cli.withAnyEngine(async (e) => {
          const w = await e.workflows.getWorkflow(name, opts.workflowVersion);
          if (!w)
            throw new NotFoundError(
              `no workflow named "${name}"${opts.workflowVersion ? ` at version ${opts.workflowVersion}` : ''}; see "codomyrmex workflow list"`,
            );
          const params = paramsOf(opts);
          const uploaded =
            opts.upload === undefined
              ? null
              : await upload(
                  e,
                  params,
                  opts.upload === true
                    ? true
                    : opts.upload
                        .split(',')
                        .map((s) => s.trim())
                        .filter(Boolean),
                );
          const options = {
            ...(opts.workflowVersion ? { version: opts.workflowVersion } : {}),
            ...(opts.idempotencyKey !== undefined ? { idempotencyKey: opts.idempotencyKey } : {}),
            ...(uploaded && { runId: uploaded.runId, inputs: uploaded.inputs }),
          };
          return followRun(
            cli,
            e,
            w.name,
            w.steps.map((s) => s.name),
            () => e.workflows.startWorkflow(w.name, params, options),
          );
        });
      },
    );

  /** Uploads the named (or every path-like) parameter's files; says what went, on stderr (stdout stays the run's). */
  async function upload(
    e: CliEngine,
    params: Record<string, unknown>,
    which: true | string[],
  ): Promise<Uploaded | null> {
    const { uploadInputs, uploadTargets } = await import('./upload.js');
    const targets = await uploadTargets(params, which, process.cwd());
    if (Object.keys(targets).length === 0) {
      if (!cli.json()) console.error('--upload: no parameter names a local file or folder; nothing uploaded');
      return null;
    }
    const up = await uploadInputs(e, targets);
    if (!cli.json()) {
      for (const n of up.notes) console.error(`--upload: ${n}`);
      console.error(
        `uploaded ${up.files} file(s), ${bytes(up.bytes)}, for ${Object.keys(targets).join(', ')} (run ${up.runId})`,
      );
    }
    return up;
  }

  wf.command('show')
    .description('show a workflow: steps, levels, critical path, and a Mermaid graph')
    .argument('<name>', 'workflow name')
    .option('--mermaid', 'print only the Mermaid graph')
    .action(async (name: string, opts: { mermaid?: boolean }) => {
      const w = await cli.withAnyEngine((e) => e.workflows.getWorkflow(name));
      if (!w) throw new NotFoundError(`no workflow named "${name}"; see "codomyrmex workflow list"`);
      const byName = new Map(w.steps.map((s) => [s.name, s]));
      const dag = { nodes: w.steps.map((s) => s.name), deps: (id: string) => byName.get(id)?.dependencies ?? [] };
      const mermaid = toMermaid(dag, (id) => {
        const s = byName.get(id);
        return s ? describeStep(s) : undefined;
      });
      if (opts.mermaid) return cli.out({ mermaid }, (m) => console.log(m.mermaid));
      const levels = topologicalLevels(dag);
      const critical = criticalPath(dag);
      if (cli.json())
        return console.log(JSON.stringify({ workflow: w, levels, criticalPath: critical.path, mermaid }, null, 2));
      console.log(`${w.name} v${w.version} (${w.hash})${w.description ? `: ${w.description}` : ''}`);
      printTable(
        w.steps.map((s) => ({
          step: s.name,
          action: describeStep(s),
          after: (s.dependencies ?? []).join(', '),
          timeout: s.timeout ?? '',
          when: s.when ?? '',
        })),
      );
      console.log(`\nlevels: ${levels.map((l) => `[${l.join(', ')}]`).join(' -> ')}`);
      console.log(`critical path: ${critical.path.join(' -> ')}\n\n${mermaid}`);
    });

  wf.command('validate')
    .description(
      "check a definition file and list every problem, with its plan (exit 2 when invalid); with --nats, against the daemon's modules",
    )
    .argument('<file>', 'a YAML or JSON definition')
    .action(async (file: string) => {
      const [{ readDefinitionFile }, { planWorkflow }] = await Promise.all([
        import('../../workflows/loader.js'),
        import('../mcp/plan.js'),
      ]);
      const definition = (await readDefinitionFile(resolve(file))) as Record<string, unknown>;
      // Checked against the daemon's modules with --nats; embedded, against this folder's, without opening the store.
      const plan = await cli.withAnyEngine((e) => planWorkflow(e, { definition }), { store: 'memory' });
      cli.out(plan, (p) => {
        printPlan(p);
        if (p.valid) console.log(`${file}: valid`);
      });
      process.exitCode = plan.valid ? EXIT.ok : EXIT.usage;
    });

  wf.command('plan')
    .description('a dry run of a stored workflow: levels, critical path, resources and warnings, without executing')
    .argument('<name>', 'workflow name')
    .action(async (name: string) => {
      const { planWorkflow } = await import('../mcp/plan.js');
      const plan = await cli.withAnyEngine(async (e) => {
        if (!(await e.workflows.getWorkflow(name)))
          throw new NotFoundError(`no workflow named "${name}"; see "codomyrmex workflow list"`);
        return planWorkflow(e, { workflowName: name });
      });
      cli.out(plan, printPlan);
      process.exitCode = plan.valid ? EXIT.ok : EXIT.usage;
    });
}
