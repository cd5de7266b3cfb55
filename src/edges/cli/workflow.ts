import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { stringify } from 'yaml';
import type { WorkflowResult } from '../../index.js';
import type { CliEngine } from './remote.js';
import { criticalPath, NotFoundError, readDefinitionFile, toMermaid, topologicalLevels, ValidationError } from '../../index.js';
import { printResults, printTable } from './format.js';

/** Where `workflow create` writes definitions; the CLI loads them on every start. */
export const USER_WORKFLOW_DIR = join('.codomyrmex', 'workflows');

export interface CliContext {
  /** Runs `fn` on an embedded engine, or on the daemon when `--nats` names one. */
  withEngine<T>(fn: (engine: CliEngine) => Promise<T>): Promise<T>;
  parseJsonObject(value: string): Record<string, unknown>;
}

function printRun(result: WorkflowResult, json: boolean | undefined): void {
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  printResults(Object.values(result.steps).map((s) => ({ ...s, name: s.step })));
  console.log(`\nworkflow ${result.workflowName} v${result.version} run ${result.runId}: ${result.status} in ${result.durationMs} ms`);
  for (const w of result.warnings) console.log(`warning: ${w}`);
}

export function registerWorkflowCommands(program: Command, cli: CliContext): void {
  const wf = program.command('workflow').description('define, inspect and run workflows');

  wf.command('list')
    .description('list the workflows this engine knows (shipped templates and .codomyrmex/workflows)')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const list = await cli.withEngine((e) => e.workflows.listWorkflows());
      if (opts.json) console.log(JSON.stringify(list, null, 2));
      else printTable(list.map((w) => ({ name: w.name, version: w.version, steps: w.steps, description: w.description })));
    });

  wf.command('create')
    .description('create a workflow from a template (or a file) into .codomyrmex/workflows/NAME.yaml')
    .argument('<name>', 'name of the new workflow')
    .option('-t, --template <template>', 'an existing workflow to copy, e.g. ai-analysis')
    .option('-f, --file <path>', 'a YAML/JSON definition to copy')
    .option('--force', 'overwrite an existing file')
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { template?: string; file?: string; force?: boolean; json?: boolean }) => {
      if (!opts.template === !opts.file) throw new InvalidArgumentError('give exactly one of --template NAME or --file PATH');
      const target = resolve(USER_WORKFLOW_DIR, `${name}.yaml`);
      if (existsSync(target) && !opts.force) throw new ValidationError(`${target} already exists; pick another name or pass --force`);
      const created = await cli.withEngine(async (e) => {
        let base: Record<string, unknown>;
        if (opts.template) {
          const t = await e.workflows.getWorkflow(opts.template);
          if (!t) throw new NotFoundError(`no workflow template "${opts.template}"; see "codomyrmex workflow list"`);
          base = { description: t.description, params: t.params, steps: t.steps, ...(t.parallelGroups ? { parallelGroups: t.parallelGroups } : {}) };
        } else {
          base = (await readDefinitionFile(resolve(opts.file ?? ''))) as Record<string, unknown>;
        }
        const definition = { ...base, name, version: '1' };
        const v = await e.workflows.validateWorkflow(definition);
        if (!v.valid) throw new ValidationError(v.errors);
        await mkdir(resolve(USER_WORKFLOW_DIR), { recursive: true });
        await writeFile(target, stringify(definition));
        return { name, file: target, steps: Array.isArray(base['steps']) ? base['steps'].length : 0, warnings: v.warnings };
      });
      if (opts.json) console.log(JSON.stringify(created, null, 2));
      else console.log(`created workflow "${created.name}" (${created.steps} steps) in ${created.file}`);
    });

  wf.command('run')
    .description('run a workflow to its end and print each step')
    .argument('<name>', 'workflow name')
    .option('-p, --params <json>', 'run parameters as a JSON object ({{params.x}})', (v) => cli.parseJsonObject(v), {})
    .option('--version <version>', 'run this version instead of the latest')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts: { params: Record<string, unknown>; version?: string; json?: boolean }) => {
      const result = await cli.withEngine((e) => e.workflows.executeWorkflow(name, opts.params, opts.version ? { version: opts.version } : {}));
      printRun(result, opts.json);
      process.exitCode = result.success ? 0 : 1;
    });

  wf.command('show')
    .description('show a workflow: steps, levels, critical path, and a Mermaid graph')
    .argument('<name>', 'workflow name')
    .option('--mermaid', 'print only the Mermaid graph')
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { mermaid?: boolean; json?: boolean }) => {
      const w = await cli.withEngine((e) => e.workflows.getWorkflow(name));
      if (!w) throw new NotFoundError(`no workflow named "${name}"; see "codomyrmex workflow list"`);
      const byName = new Map(w.steps.map((s) => [s.name, s]));
      const dag = { nodes: w.steps.map((s) => s.name), deps: (id: string) => byName.get(id)?.dependencies ?? [] };
      const mermaid = toMermaid(dag, (id) => {
        const s = byName.get(id);
        return s ? `${s.module}.${s.action}` : undefined;
      });
      if (opts.mermaid) return console.log(mermaid);
      const levels = topologicalLevels(dag);
      const critical = criticalPath(dag);
      if (opts.json) return console.log(JSON.stringify({ workflow: w, levels, criticalPath: critical.path, mermaid }, null, 2));
      console.log(`${w.name} v${w.version} (${w.hash})${w.description ? `: ${w.description}` : ''}`);
      printTable(w.steps.map((s) => ({ step: s.name, action: `${s.module}.${s.action}`, after: (s.dependencies ?? []).join(', '), timeout: s.timeout ?? '', when: s.when ?? '' })));
      console.log(`\nlevels: ${levels.map((l) => `[${l.join(', ')}]`).join(' -> ')}`);
      console.log(`critical path: ${critical.path.join(' -> ')}\n\n${mermaid}`);
    });

  wf.command('validate')
    .description('check a definition file and list every problem (exit 2 when invalid)')
    .argument('<file>', 'a YAML or JSON definition')
    .option('--json', 'print as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const v = await cli.withEngine(async (e) => e.workflows.validateWorkflow((await readDefinitionFile(resolve(file))) as Record<string, unknown>));
      if (opts.json) console.log(JSON.stringify(v, null, 2));
      else {
        for (const err of v.errors) console.log(`error: ${err}`);
        for (const w of v.warnings) console.log(`warning: ${w}`);
        if (v.valid) console.log(`${file}: valid`);
      }
      process.exitCode = v.valid ? 0 : 2;
    });
}
