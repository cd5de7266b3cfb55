#!/usr/bin/env node
/**
 * The `codomyrmex` command line. Every command takes `--json` for machine-readable output.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type { EngineOptions, TaskResult } from '../../index.js';
import { packagePath } from '../../config/options.js';
import type { OrchestrationEngine } from '../../index.js';
import { CodomyrmexError, composeEngine, Task, TaskPriority } from '../../index.js';
import { printResults, printTable } from './format.js';
import { registerProjectCommands } from './project.js';
import { registerStoreCommands } from './store.js';
import { registerWorkflowCommands, USER_WORKFLOW_DIR } from './workflow.js';
import type { CliEngine } from './remote.js';
import { natsUrl, withDaemon } from './remote.js';
import { registerDaemonCommand } from '../daemon/command.js';

const program = new Command();
program
  .name('codomyrmex')
  .description('Actor-based orchestration runtime: workflows, tasks and resources on a worker-thread pool')
  .option('--threads <n>', 'worker threads (default: the number of cores)', parseInteger('--threads', 1))
  .option('--module-dir <dir...>', 'folders to load user action modules from')
  .option('--workflow-dir <dir...>', 'more folders of workflow definitions (YAML/JSON)')
  .option('--store <kind>', 'sqlite (default: durable, see --db) or memory')
  .option('--db <path>', 'the SQLite database (default ./.codomyrmex/state.db; env CODOMYRMEX_DB)')
  .option('--durability <mode>', 'strict (default: answer only once durable) or relaxed')
  .option('--nats <url>', 'NATS URL(s): `daemon` serves its command API there; every other command talks to that daemon instead of an embedded engine (env CODOMYRMEX_NATS_URL)')
  .option('--subject-prefix <prefix>', 'the daemon\'s NATS subject prefix (default codomyrmex; env CODOMYRMEX_SUBJECT_PREFIX)')
  .option('--request-timeout <ms>', 'how long a request over NATS waits for its reply (default 30000)', parseInteger('--request-timeout', 1))
  .showHelpAfterError()
  // Usage errors (a bad option value, an unknown command) exit 2 like every other bad input, not commander's 1.
  .exitOverride();

interface GlobalFlags {
  threads?: number;
  moduleDir?: string[];
  workflowDir?: string[];
  store?: string;
  db?: string;
  durability?: string;
  nats?: string;
  subjectPrefix?: string;
  requestTimeout?: number;
}

function parseInteger(flag: string, min = 0) {
  return (value: string): number => {
    const n = value.trim() === '' ? NaN : Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be a whole number${min > 0 ? ` of at least ${min}` : ''} (got "${value}")`);
    return n;
  };
}

function parseNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a positive number (got "${value}")`);
    return n;
  };
}

function parseJsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`--params must be a JSON object: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError('--params must be a JSON object like \'{"value": 1}\'');
  return parsed as Record<string, unknown>;
}

/** Engine options from the global flags; values are checked by `compileOptions`, which names a bad one. */
function optionsFromFlags(): EngineOptions {
  const o = program.opts<GlobalFlags>();
  return {
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.moduleDir ? { moduleDirs: o.moduleDir } : {}),
    ...(o.store ? { store: o.store as 'sqlite' } : {}),
    ...(o.db ? { dbPath: o.db } : {}),
    ...(o.durability ? { durability: o.durability as 'strict' } : {}),
    workflowDirs: [packagePath('config', 'workflows'), USER_WORKFLOW_DIR, ...(o.workflowDir ?? [])],
    // One bad file in .codomyrmex/workflows must not stop every command: it is named on stderr and left out.
    badDefinitionFiles: 'skip',
  };
}

/** The CLI's engine: durable (SQLite) unless `--store memory` or `CODOMYRMEX_STORE=memory`. */
function engineFromFlags(overrides: EngineOptions = {}): OrchestrationEngine {
  return composeEngine({ ...optionsFromFlags(), ...overrides }, { store: 'sqlite' });
}

/** Runs `fn` on the daemon when `--nats` (or `CODOMYRMEX_NATS_URL`) names one, else on an embedded engine. */
function withEngine<T>(fn: (engine: CliEngine) => Promise<T>): Promise<T> {
  const url = natsUrl(program.opts<GlobalFlags>());
  return url !== undefined ? withDaemon(url, program.opts<GlobalFlags>(), fn) : withLocalEngine(fn);
}

/** Runs `fn` on a fresh embedded engine and always shuts it down. */
async function withLocalEngine<T>(fn: (engine: OrchestrationEngine) => Promise<T>, overrides: EngineOptions = {}): Promise<T> {
  const engine = engineFromFlags(overrides);
  engine.registerEventHandler('definition_skipped', (_, d) => console.error(`codomyrmex: skipped ${d.error.message.startsWith(d.file) ? d.error.message : `${d.file}: ${d.error.message}`}`));
  try {
    await engine.ready();
    return await fn(engine);
  } finally {
    await engine.shutdown({ graceMs: 1000 });
  }
}

const task = program.command('task').description('run single tasks');

task
  .command('run')
  .description('run one module.action and print its result')
  .argument('<action>', 'module.action, e.g. core.echo')
  .option('-p, --params <json>', 'parameters as a JSON object', parseJsonObject, {})
  .option('-t, --timeout <seconds>', 'hard time limit of one attempt', parseNumber('--timeout'))
  .option('-r, --retries <n>', 'retries after the first attempt', parseInteger('--retries'), 0)
  .option('--priority <p>', 'critical | high | normal | low | background', 'normal')
  .option('--json', 'print the result as JSON')
  .action(async (target: string, opts: { params: Record<string, unknown>; timeout?: number; retries: number; priority: string; json?: boolean }) => {
    const dot = target.indexOf('.');
    if (dot <= 0) throw new InvalidArgumentError(`action must be module.action, e.g. core.echo (got "${target}")`);
    const result = await withEngine((engine) =>
      engine.tasks.executeTask({
        module: target.slice(0, dot),
        action: target.slice(dot + 1),
        parameters: opts.params,
        timeout: opts.timeout,
        maxRetries: opts.retries,
        priority: opts.priority as TaskPriority,
      }),
    );
    if (opts.json) console.log(JSON.stringify(result, null, 2));
    else printResults([result]);
    process.exitCode = result.success ? 0 : 1;
  });

task
  .command('demo')
  .description("run the seed's task example: a high-priority setup task, work that depends on it, a flaky task")
  .option('--json', 'print the results as JSON')
  .action(async (opts: { json?: boolean }) => {
    const results: TaskResult[] = await withEngine(async (engine) => {
      const orch = engine.getTaskOrchestrator();
      const setup = new Task({ name: 'setup', module: 'core', action: 'echo', parameters: { value: 'environment ok' }, priority: TaskPriority.HIGH });
      const tasks = [
        setup,
        new Task({ name: 'analyze', module: 'core', action: 'sleep', parameters: { ms: 100, value: { files: 3 } }, dependencies: [setup.id] }),
        new Task({ name: 'report', module: 'core', action: 'progress', parameters: { steps: 3 }, dependencies: [setup.id], priority: TaskPriority.LOW }),
        new Task({ name: 'flaky', module: 'core', action: 'fail', parameters: { times: 2 }, maxRetries: 3, retry: { initialDelay: 0.05 } }),
      ];
      await orch.addTasks(tasks);
      return (await orch.startExecution()).results;
    });
    if (opts.json) console.log(JSON.stringify(results, null, 2));
    else printResults(results);
    process.exitCode = results.every((r) => r.success) ? 0 : 1;
  });

program
  .command('actions')
  .description('list the module.action names this engine can run')
  .option('--json', 'print as JSON')
  .action(async (opts: { json?: boolean }) => {
    // Listing actions needs no state: no database is opened.
    const list = await withLocalEngine((engine) => Promise.resolve(engine.registry.list()), { store: 'memory' });
    if (opts.json) console.log(JSON.stringify(list, null, 2));
    else printTable(list.map((a) => ({ action: `${a.module}.${a.action}`, description: a.description })));
  });

const orchestration = program.command('orchestration').description('engine status and health');

orchestration
  .command('status')
  .description('uptime, tasks by status, queue, pool, workflows, sessions, resources, store')
  .option('--json', 'print as JSON')
  .action(async (opts: { json?: boolean }) => {
    const status = await withEngine((engine) => engine.getSystemStatus());
    if (opts.json) return console.log(JSON.stringify(status, null, 2));
    const rows: Record<string, unknown>[] = Object.entries(status as Record<string, unknown>)
      .filter(([k]) => !['timestamp', 'engineId'].includes(k))
      .map(([k, v]) => ({ part: k, state: typeof v === 'object' ? JSON.stringify(v) : v }));
    printTable(rows);
  });

orchestration
  .command('health')
  .description('checks every component for real (a probe task, a store write, the bus, the queue); exit 1 unless healthy')
  .option('--json', 'print as JSON')
  .action(async (opts: { json?: boolean }) => {
    const health = await withEngine((engine) => engine.healthCheck());
    if (opts.json) console.log(JSON.stringify(health, null, 2));
    else {
      console.log(`overall: ${health.overallStatus}`);
      printTable(Object.entries(health.components).map(([name, c]) => ({ component: name, status: c.status, detail: c.detail ?? '' })));
      for (const issue of health.issues) console.log(`issue: ${issue}`);
    }
    process.exitCode = health.overallStatus === 'healthy' ? 0 : 1;
  });

registerWorkflowCommands(program, { withEngine, parseJsonObject });
registerStoreCommands(program, () => optionsFromFlags());
registerProjectCommands(program, { withEngine, parseJsonObject });
registerDaemonCommand(program, { engineOptions: () => optionsFromFlags(), natsFlags: () => {
  const o = program.opts<GlobalFlags>();
  return { nats: o.nats, subjectPrefix: o.subjectPrefix, requestTimeout: o.requestTimeout };
} });

program.parseAsync().catch((err: unknown) => {
  if (err instanceof CodomyrmexError || err instanceof InvalidArgumentError) console.error(`codomyrmex: ${err.message}`);
  else if (err instanceof CommanderError) {
    // Commander printed it already; --help and --version end here too, with exit code 0.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
    return;
  } else console.error(err);
  process.exitCode = 2;
});
