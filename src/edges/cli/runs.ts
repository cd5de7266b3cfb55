/**
 * Runs, as they happen and afterwards: `workflow runs`, `run show | cancel | watch | signal | retry RUN_ID`, `exec FILE`, and the
 * live view every command that runs a workflow shares ({@link followRun}).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { StepResult, WorkflowResult } from '../../model/workflow.js';
import type { WorkflowRun } from '../../model/run.js';
import { RUN_STATUSES } from '../../model/vocabulary.js';
import { EXIT, paramsOf, withParamFlags } from './context.js';
import type { CliContext } from './context.js';
import { ms, printResults, printTable } from './format.js';
import { bytes, registerArtifactCommands } from './artifacts.js';
import { LiveRun } from './live.js';
import type { CliEngine } from './remote.js';

/** `etl v3`, or `slow (ad hoc)` for a definition run without being stored (exec, complex workflows). */
export function workflowLabel(name: string, version: string): string {
  return version === 'adhoc' ? `${name} (ad hoc)` : `${name} v${version}`;
}

/** Prints a finished run for people: its steps, one line with the outcome, what failed, and where its files went. */
export async function printRun(result: WorkflowResult): Promise<void> {
  const { runError, runWritten } = await import('../mcp/summary.js');
  printResults(Object.values(result.steps).map((s) => ({ ...s, name: s.step, status: stepStatusText(s) })));
  console.log(
    `\nworkflow ${workflowLabel(result.workflowName, result.version)} run ${result.runId}: ${result.status} in ${ms(result.durationMs)}`,
  );
  for (const w of result.warnings) console.log(`warning: ${w}`);
  const error = runError(result);
  if (error !== undefined) console.log(`error: ${error}`);
  // What the steps declared they wrote (their results' `written`), never a guess from a result's fields.
  const { files, more, moreAtLeast } = runWritten(result);
  if (files.length)
    console.log(
      `reports and files written: ${files.join(', ')}${more ? ` (and ${moreAtLeast ? 'at least ' : ''}${more} more: see the steps' results)` : ''}`,
    );
}

/** How {@link followRun} follows: the run's id when known, what Ctrl-C does, and the state to start from. */
export interface FollowRunOptions {
  runId?: string | null;
  /** `cancel` (default): Ctrl-C cancels the run, which is this command's own. `detach`: stop watching, the run goes on. */
  onInterrupt?: 'cancel' | 'detach';
  /** Reads a run in progress to attach to (called once listening has started): its steps' state is shown first. */
  attach?: () => Promise<WorkflowRun>;
}

/**
 * A step's status for people: `waiting for signal "approval" until 09:00:00`, `running 37/120` (forEach items
 * ended of all), `completed (reused from RUN)`, `failed (child run RUN)`.
 */
export function stepStatusText(s: StepResult): string {
  let text: string = s.status;
  if (s.waiting) {
    const until = s.waiting.until !== null ? ` until ${new Date(s.waiting.until).toISOString()}` : '';
    text = s.waiting.signal !== null ? `waiting for signal "${s.waiting.signal}"${until}` : `sleeping${until}`;
  }
  if (s.items) {
    const ended = s.items.filter((i) => !['pending', 'running', 'ready', 'retrying'].includes(i.status)).length;
    text += ` ${ended}/${s.items.length}`;
  }
  if (s.childRunId !== undefined) text += ` (child run ${s.childRunId})`;
  if (s.reused) text += ` (reused from ${s.reusedFrom ?? 'an earlier run'})`;
  return text;
}

/**
 * Starts a run with `start` (which returns its id, or its result for runs that cannot be started apart), shows it
 * live, and sets the exit code: 0 succeeded, 1 did not, 130 interrupted. On Ctrl-C it cancels the run, or detaches
 * (resolves with null, the run goes on) when told to.
 */
export async function followRun(
  cli: CliContext,
  engine: CliEngine,
  workflowName: string,
  steps: string[],
  start: () => Promise<string | WorkflowResult>,
  options: FollowRunOptions = {},
): Promise<WorkflowResult | null> {
  const json = cli.json();
  const live = new LiveRun(
    engine,
    workflowName,
    { steps, tty: process.stdout.isTTY === true && !json, quiet: json },
    options.runId ?? null,
  );
  let detach: () => void = () => undefined;
  const detached = new Promise<'detached'>((resolve) => (detach = () => resolve('detached')));
  const stopListening =
    options.onInterrupt === 'detach'
      ? live.onInterrupt(() => detach())
      : live.cancelOnInterrupt((id) => engine.workflows.cancelRun(id, 'interrupted (Ctrl-C)'));
  let result: WorkflowResult | 'detached';
  try {
    if (options.attach) live.attach(await options.attach());
    const started = await start();
    if (typeof started === 'string') live.setRunId(started);
    result =
      typeof started === 'string' ? await Promise.race([engine.workflows.waitForRun(started), detached]) : started;
  } finally {
    stopListening();
  }
  if (result === 'detached') {
    live.finish();
    process.exitCode = EXIT.interrupted;
    const runId = live.runId ?? '';
    if (json) console.log(JSON.stringify({ runId, detached: true }, null, 2));
    else
      console.error(
        `detached from run ${runId}; it goes on (see it with \`codomyrmex run show ${runId}\`, stop it with \`codomyrmex run cancel ${runId}\`)`,
      );
    return null;
  }
  live.finish(result);
  process.exitCode = live.interrupted ? EXIT.interrupted : result.success ? EXIT.ok : EXIT.runFailed;
  if (json) console.log(JSON.stringify(result, null, 2));
  else await printRun(result);
  return result;
}

/** A `--data` style flag's JSON, or a `ValidationError` naming the flag. */
function parseJsonFlag(text: string, flag: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ValidationError(
      `${flag}: must be JSON such as '{"approvedBy":"ana"}' or '"yes"' (${(err as Error).message})`,
    );
  }
}

function runRow(r: WorkflowRun): Record<string, unknown> {
  const steps = Object.values(r.steps);
  return {
    run: r.runId,
    workflow: workflowLabel(r.workflowName, r.version),
    status: r.status,
    steps: `${steps.filter((s) => s.status === 'completed').length}/${steps.length}`,
    started: new Date(r.startedAt).toISOString().replace('T', ' ').slice(0, 19),
    time: r.endedAt === null ? 'running' : ms(r.durationMs),
  };
}

async function mustGetRun(engine: CliEngine, runId: string): Promise<WorkflowRun> {
  const run = await engine.workflows.getRun(runId);
  if (!run) throw new NotFoundError(`no run "${runId}"; see "codomyrmex workflow runs"`);
  return run;
}

export function registerRunCommands(program: Command, cli: CliContext): void {
  const wf = program.commands.find((c) => c.name() === 'workflow');
  wf?.command('runs')
    .description('list recent workflow runs, newest first')
    .option('-w, --workflow <name>', 'only runs of this workflow')
    .addOption(new Option('--status <status>', 'only runs in this status').choices(RUN_STATUSES))
    .option('--limit <n>', 'at most this many', (v) => Number(v), 20)
    .action(async (opts: { workflow?: string; status?: string; limit: number }) => {
      const runs = await cli.withAnyEngine((e) =>
        e.workflows.listRuns({
          limit: opts.limit,
          ...(opts.workflow ? { workflowName: opts.workflow } : {}),
          ...(opts.status ? { status: opts.status as WorkflowRun['status'] } : {}),
        }),
      );
      cli.out(runs, (list) => printTable(list.map(runRow)));
    });

  const run = program.command('run').description('inspect, follow and cancel workflow runs');
  registerArtifactCommands(run, cli);
  run
    .command('show')
    .description('a run: its status, parameters and every step result')
    .argument('<run-id>', 'the run id (see "workflow runs")')
    .action(async (runId: string) => {
      const x = await cli.withAnyEngine((e) => mustGetRun(e, runId));
      if (cli.json()) return console.log(JSON.stringify(x, null, 2));
      console.log(`params: ${JSON.stringify(x.params)}${x.sessionId ? `\nsession: ${x.sessionId}` : ''}`);
      if (x.parentRunId)
        console.log(
          `parent: run ${x.parentRunId}, step "${x.parentStep ?? ''}"${x.parentItem !== null && x.parentItem !== undefined ? `, item ${x.parentItem}` : ''}`,
        );
      if (x.retryOf) console.log(`retry of: run ${x.retryOf}`);
      await printRun(x);
      const { runArtifacts } = await import('../../actors/engine/artifacts.js');
      const artifacts = runArtifacts(x);
      if (artifacts.length)
        console.log(
          `artifacts: ${artifacts.map((a) => `${a.step}/${a.name} (${bytes(a.size)})`).join(', ')}; download with "codomyrmex run artifacts ${x.runId} --get STEP/NAME"`,
        );
    });
  run
    .command('cancel')
    .description('cancel a running run (its running steps are aborted, the rest skipped)')
    .argument('<run-id>', 'the run id')
    .option('--reason <text>', 'why, kept with the run')
    .action(async (runId: string, opts: { reason?: string }) => {
      const r = await cli.withAnyEngine(async (e) => {
        await mustGetRun(e, runId);
        return e.workflows.cancelRun(runId, opts.reason);
      });
      cli.out(r, (x) =>
        console.log(x.cancelled ? `cancelled run ${x.runId}` : `run ${x.runId} was not running (${x.status})`),
      );
    });
  run
    .command('watch')
    .description(
      'follow a run live until it ends: every step with its state and time; Ctrl-C stops watching (the run goes on)',
    )
    .argument('<run-id>', 'the run id')
    .option('--cancel-on-interrupt', 'Ctrl-C cancels the run instead of detaching')
    .addHelpText(
      'after',
      '\nExit codes: 0 the run succeeded, 1 it did not, 3 no such run, 130 Ctrl-C (detached, or cancelled with --cancel-on-interrupt).',
    )
    .action(async (runId: string, opts: { cancelOnInterrupt?: boolean }) => {
      await cli.withAnyEngine((e) =>
        // Listening starts before the run is read, so no step's change falls between the two.
        followRun(cli, e, '', [], () => Promise.resolve(runId), {
          runId,
          attach: () => mustGetRun(e, runId),
          onInterrupt: opts.cancelOnInterrupt ? 'cancel' : 'detach',
        }),
      );
    });

  run
    .command('signal')
    .description(
      'send a signal to a running run: the steps waiting for it (waitFor) go on, with its data as their output',
    )
    .argument('<run-id>', 'the run id')
    .argument('<signal>', 'the signal name a step waits for (waitFor: { signal })')
    .option('--data <json>', "the payload, as JSON (the waiting step's output)")
    .addHelpText('after', `\nExample:\n  codomyrmex run signal 3f2a... approval --data '{"approvedBy":"ana"}'`)
    .action(async (runId: string, signal: string, opts: { data?: string }) => {
      const payload = opts.data === undefined ? undefined : parseJsonFlag(opts.data, '--data');
      const r = await cli.withAnyEngine((e) => e.workflows.signalRun(runId, signal, payload));
      cli.out(r, (x) =>
        console.log(
          x.delivered
            ? `signal "${x.signal}" delivered to run ${x.runId}`
            : `signal "${x.signal}" kept for run ${x.runId}: no step waits for it yet, the first one that does takes it`,
        ),
      );
    });
  run
    .command('retry')
    .description(
      're-run an ended run: steps that completed keep their outputs, the rest (or --from STEP and everything after it) run again',
    )
    .argument('<run-id>', 'the run id')
    .option('--from <step>', 'run this step and everything downstream of it again')
    .action(async (runId: string, opts: { from?: string }) => {
      await cli.withAnyEngine(async (e) => {
        const r = await mustGetRun(e, runId);
        const steps = Object.keys(r.steps);
        const options = opts.from === undefined ? {} : { fromStep: opts.from };
        return followRun(cli, e, r.workflowName, steps, () => e.workflows.startRetry(runId, options));
      });
    });

  withParamFlags(
    program
      .command('exec')
      .description(
        "run a workflow file without storing it (the seed's complex shape too: steps, dependencies, parallel_groups)",
      )
      .argument('<file>', 'a YAML or JSON definition'),
  )
    .addHelpText(
      'after',
      `\nExample file (JSON or YAML):\n  { "name": "checks", "steps": [{ "name": "lint", "module": "core", "action": "echo" }, { "name": "report", "module": "core", "action": "echo" }],\n    "dependencies": { "report": ["lint"] } }\n\nExamples:\n  codomyrmex exec checks.json --param day=3\n  codomyrmex exec checks.json --nats nats://127.0.0.1:4222   run by the daemon (paths in the file are its folder's)`,
    )
    .action(async (file: string, opts: { params?: Record<string, unknown>; param?: Record<string, unknown> }) => {
      const { readDefinitionFile } = await import('../../workflows/loader.js');
      const definition = (await readDefinitionFile(resolve(file))) as Record<string, unknown>;
      const name = typeof definition['name'] === 'string' ? definition['name'] : 'complex';
      const steps = Array.isArray(definition['steps'])
        ? (definition['steps'] as { name?: unknown }[]).map((s) => String(s.name))
        : [];
      // With --nats the daemon runs it (relative paths in the file are then the daemon's folder's).
      await cli.withAnyEngine((e) =>
        followRun(cli, e, name, steps, () =>
          e.executeComplexWorkflow({ ...definition, name }, { params: paramsOf(opts) }),
        ),
      );
    });
}
