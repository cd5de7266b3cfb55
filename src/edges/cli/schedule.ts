/**
 * `codomyrmex schedule create|list|show|pause|resume|delete|trigger|backfill` and
 * `codomyrmex trigger create|list|delete|pause|resume`: each through the daemon with `--nats`, else on the store
 * (a one-shot command stores and shows schedules; a long-lived engine fires them).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { NotFoundError } from '../../errors.js';
import type { ScheduleInput, ScheduleView, TriggerInput, TriggerSource, TriggerView } from '../../model/schedule.js';
import { collectParam } from './context.js';
import type { CliContext } from './context.js';
import { printTable } from './format.js';

interface CreateFlags {
  workflow: string;
  cron?: string;
  every?: string;
  tz?: string;
  overlap?: string;
  param?: Record<string, unknown>;
  catchup?: string;
  jitter?: string;
  startAt?: string;
  endAt?: string;
  paused?: boolean;
}

const when = (t: string): string => t.replace('T', ' ').replace(/\.000Z$/, 'Z');

/** `2026-03-29 01:00:00Z  (03:00 Europe/Paris, 04:00 local)`. */
function fireTime(iso: string, zone: string): string {
  const d = new Date(iso);
  const inZone = d.toLocaleString('sv-SE', { timeZone: zone }).slice(0, 16);
  const local = d.toLocaleString('sv-SE').slice(0, 16);
  return `${inZone} ${zone}   (local ${local})`;
}

function summary(s: ScheduleView): Record<string, unknown> {
  return {
    name: s.name,
    workflow: s.workflow,
    when:
      s.cron !== null
        ? `cron ${s.cron}${s.timezone !== 'UTC' ? ` ${s.timezone}` : ''}`
        : `every ${s.everyMs === null ? '?' : s.everyMs / 1000}s`,
    overlap: s.overlap,
    state: s.paused ? 'paused' : 'active',
    next: s.nextFireTimes[0] ? when(s.nextFireTimes[0]) : '',
    running: s.activeRuns.length,
  };
}

function printSchedule(s: ScheduleView): void {
  printTable([summary(s)]);
  console.log(`\nnext fire times (${s.timezone} and local):`);
  for (const t of s.nextFireTimes) console.log(`  ${fireTime(t, s.timezone)}`);
  if (s.nextFireTimes.length === 0) console.log(s.paused ? '  none: paused' : '  none: past endAt');
  if (s.recentSlots.length) {
    console.log('\nrecent slots:');
    printTable(
      s.recentSlots.map((r) => ({
        slot: when(new Date(r.scheduledFor).toISOString()),
        outcome: r.outcome,
        count: r.count ?? '',
        run: r.runId ?? '',
        error: r.error ?? '',
      })),
    );
  }
  if (s.lastRuns.length) {
    console.log('\nlast runs:');
    printTable(
      s.lastRuns.map((r) => ({
        run: r.runId,
        slot: r.scheduledFor === null ? '' : when(new Date(r.scheduledFor).toISOString()),
        status: r.status,
      })),
    );
  }
}

function triggerRow(t: TriggerView): Record<string, unknown> {
  return {
    name: t.name,
    workflow: t.workflow,
    kind: t.kind,
    target: t.target,
    stream: t.stream ?? '',
    state: t.paused ? 'paused' : t.listening ? 'listening' : `idle: ${t.reason ?? ''}`,
    fired: t.fired,
    rejected: t.rejected,
  };
}

const num =
  (flag: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0)
      throw new InvalidArgumentError(`${flag} must be a number of seconds (got "${v}")`);
    return n;
  };

export function registerScheduleCommands(program: Command, cli: CliContext): void {
  const sc = program
    .command('schedule')
    .description(
      'runs on a clock: cron in a time zone, or every N (fired by the daemon or any long-lived engine, not by one-shot commands)',
    );

  sc.command('create')
    .description('store a schedule of a workflow')
    .argument('<name>', 'the schedule name')
    .requiredOption('-w, --workflow <name>', 'the workflow each slot runs')
    .option('--cron <expr>', 'a 5-field (or 6, seconds first) cron expression, e.g. "30 2 * * *"')
    .option('--every <duration>', 'a fixed interval: 30s, 5m, 1h30m, or seconds')
    .option('--tz <zone>', 'the IANA zone of --cron (default UTC)')
    .option('--overlap <policy>', 'skip (default), buffer_one, allow or cancel_previous')
    .option('--param <key=value>', 'a run parameter (repeatable; the value is JSON if it parses)', collectParam)
    .option('--catchup <seconds>', 'after downtime, run missed slots this recent (default 60)', num('--catchup'))
    .option('--jitter <seconds>', 'fire each slot up to this late (default 0)', num('--jitter'))
    .option('--start-at <time>', 'no slot before this ISO time')
    .option('--end-at <time>', 'no slot after this ISO time')
    .option('--paused', 'create it paused')
    .addHelpText(
      'after',
      '\nExamples:\n  codomyrmex schedule create nightly --workflow etl --cron "30 2 * * *" --tz Europe/Paris\n  codomyrmex schedule create poll --workflow check --every 30s --overlap buffer_one --param url=https://example.org',
    )
    .action(async (name: string, o: CreateFlags) => {
      const input: ScheduleInput = {
        name,
        workflow: o.workflow,
        ...(o.cron !== undefined ? { cron: o.cron } : {}),
        ...(o.every !== undefined ? { every: o.every } : {}),
        ...(o.tz !== undefined ? { timezone: o.tz } : {}),
        ...(o.overlap !== undefined ? { overlap: o.overlap as ScheduleInput['overlap'] & string } : {}),
        ...(o.param ? { parameters: o.param } : {}),
        ...(o.catchup !== undefined ? { catchupWindowSeconds: Number(o.catchup) } : {}),
        ...(o.jitter !== undefined ? { jitterSeconds: Number(o.jitter) } : {}),
        ...(o.startAt !== undefined ? { startAt: o.startAt } : {}),
        ...(o.endAt !== undefined ? { endAt: o.endAt } : {}),
        ...(o.paused ? { paused: true } : {}),
      };
      const s = await cli.withAnyEngine((e) => e.workflows.createSchedule(input));
      cli.out(s, (x) => {
        console.log(`created schedule ${x.name}`);
        printSchedule(x);
      });
    });

  sc.command('list')
    .description('every schedule, with its next fire time')
    .action(async () => {
      const list = await cli.withAnyEngine((e) => e.workflows.listSchedules());
      cli.out(list, (l) =>
        l.length
          ? printTable(l.map(summary))
          : console.log('no schedules; create one with "codomyrmex schedule create NAME --workflow W --every 5m"'),
      );
    });

  sc.command('show')
    .description('a schedule: its next fire times (in its zone and in local time), recent slots and last runs')
    .argument('<name>', 'the schedule name')
    .action(async (name: string) => {
      const s = await cli.withAnyEngine((e) => e.workflows.getSchedule(name));
      if (!s) throw new NotFoundError(`no schedule named "${name}"; see "codomyrmex schedule list"`);
      cli.out(s, printSchedule);
    });

  for (const [verb, what] of [
    ['pause', 'stop firing (slots that fall while paused are not run, nor caught up)'],
    ['resume', 'fire again, from now on'],
  ] as const) {
    sc.command(verb)
      .description(what)
      .argument('<name>', 'the schedule name')
      .action(async (name: string) => {
        const s = await cli.withAnyEngine((e) =>
          verb === 'pause' ? e.workflows.pauseSchedule(name) : e.workflows.resumeSchedule(name),
        );
        cli.out(s, (x) =>
          console.log(`schedule ${x.name} ${x.paused ? 'paused' : `active; next ${x.nextFireTimes[0] ?? 'none'}`}`),
        );
      });
  }

  sc.command('delete')
    .description('delete a schedule (runs it started go on)')
    .argument('<name>', 'the schedule name')
    .action(async (name: string) => {
      const deleted = await cli.withAnyEngine((e) => e.workflows.deleteSchedule(name));
      if (!deleted) throw new NotFoundError(`no schedule named "${name}"; see "codomyrmex schedule list"`);
      cli.out({ name, deleted }, () => console.log(`deleted schedule ${name}`));
    });

  sc.command('trigger')
    .description('one run now, outside the slots')
    .argument('<name>', 'the schedule name')
    .action(async (name: string) => {
      const runId = await cli.withAnyEngine((e) => e.workflows.triggerSchedule(name));
      cli.out({ name, runId }, () =>
        console.log(`started run ${runId} (follow it with "codomyrmex run watch ${runId}")`),
      );
    });

  sc.command('backfill')
    .description('one run per slot of a past range, one after another (at most 10000 slots)')
    .argument('<name>', 'the schedule name')
    .requiredOption('--from <time>', 'the first slot time (ISO or epoch ms)')
    .requiredOption('--to <time>', 'the last slot time (ISO or epoch ms)')
    .option('--overlap <policy>', 'buffer_all (default), buffer_one, skip, allow or cancel_previous')
    .action(async (name: string, o: { from: string; to: string; overlap?: string }) => {
      const reply = await cli.withAnyEngine((e) =>
        e.workflows.backfillSchedule(name, {
          from: o.from,
          to: o.to,
          ...(o.overlap ? { overlap: o.overlap as 'allow' } : {}),
        }),
      );
      cli.out(reply, (r) =>
        console.log(`backfill of ${r.name}: ${r.slots} slots, ${r.queued} queued, ${r.alreadyRun} had run already`),
      );
    });

  registerTriggerCommands(program, cli);
}

interface TriggerFlags {
  workflow: string;
  subject?: string;
  stream?: string | boolean;
  http?: string;
  secret?: string;
  param?: Record<string, unknown>;
  paused?: boolean;
}

function registerTriggerCommands(program: Command, cli: CliContext): void {
  const tr = program
    .command('trigger')
    .description('runs started by events: NATS subjects (core or JetStream) and signed webhooks');

  tr.command('create')
    .description('store a trigger of a workflow')
    .argument('<name>', 'the trigger name')
    .requiredOption('-w, --workflow <name>', 'the workflow each message runs')
    .option('--subject <subject>', 'a NATS subject (wildcards allowed), e.g. orders.created')
    .option(
      '--stream [name]',
      "consume the subject through a durable JetStream consumer (the stream's name, or found by subject)",
    )
    .option('--http <path>', "a webhook path under /hooks/ on the daemon's HTTP edge")
    .option('--secret <secret>', 'the webhook HMAC-SHA256 secret (at least 16 characters)')
    .option(
      '--param <key=value>',
      'a run parameter; values may hold {{event.data}}, {{event.subject}}, {{event.headers}} (repeatable)',
      collectParam,
    )
    .option('--paused', 'create it paused')
    .addHelpText(
      'after',
      '\nExamples:\n  codomyrmex trigger create on-order --workflow ship --subject orders.created --param order={{event.data}}\n  codomyrmex trigger create deploy --workflow deploy --http /hooks/deploy --secret "$HOOK_SECRET"',
    )
    .action(async (name: string, o: TriggerFlags) => {
      if ((o.subject === undefined) === (o.http === undefined))
        throw new InvalidArgumentError('give exactly one of --subject SUBJECT or --http PATH');
      let source: TriggerSource;
      if (o.subject !== undefined)
        source = { nats: o.subject, ...(o.stream !== undefined ? { stream: o.stream } : {}) };
      else source = { http: { path: o.http ?? '', secret: o.secret ?? '' } };
      const input: TriggerInput = {
        name,
        workflow: o.workflow,
        source,
        ...(o.param ? { parameters: o.param } : {}),
        ...(o.paused ? { paused: true } : {}),
      };
      const t = await cli.withAnyEngine((e) => e.workflows.createTrigger(input));
      cli.out(t, (x) => {
        console.log(`created trigger ${x.name}`);
        printTable([triggerRow(x)]);
      });
    });

  tr.command('list')
    .description('every trigger (secrets are never shown)')
    .action(async () => {
      const list = await cli.withAnyEngine((e) => e.workflows.listTriggers());
      cli.out(list, (l) =>
        l.length
          ? printTable(l.map(triggerRow))
          : console.log('no triggers; create one with "codomyrmex trigger create NAME --workflow W --subject S"'),
      );
    });

  tr.command('delete')
    .description('delete a trigger')
    .argument('<name>', 'the trigger name')
    .action(async (name: string) => {
      const deleted = await cli.withAnyEngine((e) => e.workflows.deleteTrigger(name));
      if (!deleted) throw new NotFoundError(`no trigger named "${name}"; see "codomyrmex trigger list"`);
      cli.out({ name, deleted }, () => console.log(`deleted trigger ${name}`));
    });

  for (const verb of ['pause', 'resume'] as const) {
    tr.command(verb)
      .description(
        verb === 'pause'
          ? 'stop starting runs (NATS messages wait in JetStream; webhooks get 409)'
          : 'start runs again',
      )
      .argument('<name>', 'the trigger name')
      .action(async (name: string) => {
        const t = await cli.withAnyEngine((e) =>
          verb === 'pause' ? e.workflows.pauseTrigger(name) : e.workflows.resumeTrigger(name),
        );
        cli.out(t, (x) => console.log(`trigger ${x.name} ${x.paused ? 'paused' : 'active'}`));
      });
  }
}
