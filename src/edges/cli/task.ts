/** `codomyrmex task run MODULE.ACTION | demo | explain ID` (`task list` reads the store: see store.ts). */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { TaskPriority, TaskResult } from '../../model/task.js';
import { EXIT, paramsOf, withParamFlags } from './context.js';
import type { CliContext } from './context.js';
import { printResults } from './format.js';

function parseInteger(flag: string, min = 0) {
  return (value: string): number => {
    const n = value.trim() === '' ? NaN : Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(
        `${flag} must be a whole number${min > 0 ? ` of at least ${min}` : ''} (got "${value}")`,
      );
    return n;
  };
}

function parsePositive(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${flag} must be a positive number (got "${value}")`);
    return n;
  };
}

export { parseInteger };

export function registerTaskCommands(program: Command, cli: CliContext): void {
  const task = program.command('task').description('run single tasks and ask why one waits');

  withParamFlags(
    task
      .command('run')
      .description('run one module.action and print its result')
      .argument('<action>', 'module.action, e.g. core.echo'),
  )
    .option('-t, --timeout <seconds>', 'hard time limit of one attempt', parsePositive('--timeout'))
    .option('-r, --retries <n>', 'retries after the first attempt', parseInteger('--retries'), 0)
    .option('--priority <p>', 'critical | high | normal | low | background', 'normal')
    .option(
      '--idempotency-key <key>',
      "answer with the earlier task that used this key (within the engine's idempotencyTtlSeconds) instead of running again",
    )
    .addHelpText(
      'after',
      `\nExamples:\n  codomyrmex task run core.echo --param value=42\n  codomyrmex task run shell.run --params '{"command": "ls", "args": ["-la"]}' --timeout 10\n  codomyrmex modules list core                      the actions and their parameters`,
    )
    .action(
      async (
        target: string,
        opts: {
          params?: Record<string, unknown>;
          param?: Record<string, unknown>;
          timeout?: number;
          retries: number;
          priority: string;
          idempotencyKey?: string;
        },
      ) => {
        const dot = target.indexOf('.');
        if (dot <= 0) throw new InvalidArgumentError(`action must be module.action, e.g. core.echo (got "${target}")`);
        const result = await cli.withAnyEngine((engine) =>
          engine.tasks.executeTask({
            module: target.slice(0, dot),
            action: target.slice(dot + 1),
            parameters: paramsOf(opts),
            timeout: opts.timeout,
            maxRetries: opts.retries,
            priority: opts.priority as TaskPriority,
            ...(opts.idempotencyKey !== undefined ? { idempotencyKey: opts.idempotencyKey } : {}),
          }),
        );
        cli.out(result, (r) => printResults([r]));
        process.exitCode = result.success ? EXIT.ok : EXIT.runFailed;
      },
    );

  task
    .command('demo')
    .description("run the seed's task example: a high-priority setup task, work that depends on it, a flaky task")
    .action(async () => {
      const { Task, TaskPriority } = await import('../../model/task.js');
      const results: TaskResult[] = await cli.withEngine(async (engine) => {
        const orch = engine.getTaskOrchestrator();
        const setup = new Task({
          name: 'setup',
          module: 'core',
          action: 'echo',
          parameters: { value: 'environment ok' },
          priority: TaskPriority.HIGH,
        });
        const tasks = [
          setup,
          new Task({
            name: 'analyze',
            module: 'core',
            action: 'sleep',
            parameters: { ms: 100, value: { files: 3 } },
            dependencies: [setup.id],
          }),
          new Task({
            name: 'report',
            module: 'core',
            action: 'progress',
            parameters: { steps: 3 },
            dependencies: [setup.id],
            priority: TaskPriority.LOW,
          }),
          new Task({
            name: 'flaky',
            module: 'core',
            action: 'fail',
            parameters: { times: 2 },
            maxRetries: 3,
            retry: { initialDelay: 0.05 },
          }),
        ];
        await orch.addTasks(tasks);
        return (await orch.startExecution()).results;
      });
      cli.out(results, printResults);
      process.exitCode = results.every((r) => r.success) ? EXIT.ok : EXIT.runFailed;
    });

  task
    .command('explain')
    .description('why a task is where it is: what it waits for, its attempts, its last error')
    .argument('<id>', 'a task id (a workflow step is RUN_ID.STEP)')
    .action(async (id: string) => {
      const x = await cli.withAnyEngine((e) => e.explainTask(id));
      cli.out(x, (v) => {
        console.log(`${v.taskId}: ${v.status}\n${v.summary}`);
        if (v.waitingOn) console.log(`waiting on: ${JSON.stringify(v.waitingOn)}`);
      });
    });
}
