/** `codomyrmex ratelimit create NAME --limit N --per DUR | list | delete NAME`: named rate limits (docs/flow-control.md). */
import type { Command } from 'commander';
import type { RateLimitView } from '../../model/taskView.js';
import type { CliContext } from './context.js';
import { parseInteger } from './task.js';

function printLimits(limits: readonly RateLimitView[]): void {
  if (!limits.length) {
    console.log('no rate limits (create one with: codomyrmex ratelimit create NAME --limit N --per 1m)');
    return;
  }
  console.table(
    limits.map((l) => ({
      name: l.name,
      limit: `${l.limit} per ${l.per}`,
      spent: l.level.spent,
      waiting: l.level.waiting + l.busiest.reduce((n, b) => n + b.waiting, 0),
      keys: l.keys,
      busiest: l.busiest
        .slice(0, 3)
        .map((b) => `${b.key}: ${b.spent}`)
        .join(', '),
    })),
  );
}

export function registerRateLimitCommands(program: Command, cli: CliContext): void {
  const rl = program
    .command('ratelimit')
    .description('named rate limits: never more than N units per window, shared by the tasks that name them');

  rl.command('create')
    .description('create (or replace) a rate limit; tasks use it with rateLimit: { name, key?, units? }')
    .argument('<name>', 'a name like github-api')
    .requiredOption('--limit <n>', 'units per window', parseInteger('--limit', 1))
    .requiredOption('--per <duration>', 'the window: 1s, 30s, 1m, 1h, 1d')
    .addHelpText('after', '\nExample:\n  codomyrmex ratelimit create github-api --limit 30 --per 1m')
    .action(async (name: string, opts: { limit: number; per: string }) => {
      const view = await cli.withAnyEngine((e) => e.tasks.createRateLimit({ name, limit: opts.limit, per: opts.per }));
      cli.out(view, (v) => console.log(`rate limit "${v.name}": ${v.limit} per ${v.per}`));
    });

  rl.command('list')
    .description('every rate limit with its level and its busiest keys')
    .action(async () => {
      const limits = await cli.withAnyEngine((e) => e.tasks.listRateLimits());
      cli.out(limits, printLimits);
    });

  rl.command('delete')
    .description('delete a rate limit (tasks waiting on it go on without it)')
    .argument('<name>')
    .action(async (name: string) => {
      const r = await cli.withAnyEngine((e) => e.tasks.deleteRateLimit(name));
      cli.out(r, (v) => console.log(v.deleted ? `deleted rate limit "${v.name}"` : `no rate limit "${v.name}"`));
    });
}
