/**
 * CLI commands that read the durable store directly, read-only: they work while an engine (or the daemon) has
 * the database open, and never take its lock. With `--nats`, `task list` asks the daemon instead; `events` reads a
 * journal on this disk only, so it refuses `--nats` and says where the daemon's is.
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { TASK_STATUSES } from '../../model/vocabulary.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineOptions, EventName, JournalEntry, Store, TaskStatus } from '../../index.js';
import type { CliContext, GlobalFlags } from './context.js';
import { daemonUrl, natsUrl } from './context.js';
import { printTable } from './format.js';

/** The database read-only: SQLite, or PostgreSQL when the options name it (each loaded only then). */
async function openReadOnly(options: EngineOptions): Promise<Store> {
  const { compileOptions } = await import('../../config/compile.js');
  const compiled = compileOptions(options, process.env, { store: 'sqlite' });
  if (compiled.postgres) {
    const { PostgresStore } = await import('../../store/postgres.js');
    return PostgresStore.open({ url: compiled.postgres.url, readonly: true });
  }
  const { SqliteStore } = await import('../../store/sqlite.js');
  return SqliteStore.open({ path: compiled.dbPath, readonly: true });
}

function whole(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${flag} must be a whole number (got "${value}")`);
    return n;
  };
}

function printEvents(entries: JournalEntry[], json: boolean): void {
  for (const e of entries) {
    if (json) console.log(JSON.stringify(e));
    else
      console.log(
        `${String(e.seq).padStart(8)}  ${new Date(e.timestamp).toISOString()}  ${e.type.padEnd(16)}  ${JSON.stringify(e.data)}`,
      );
  }
}

const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());

export function registerStoreCommands(program: Command, cli: CliContext): void {
  const flags = (): GlobalFlags => program.opts<GlobalFlags>();
  const options = (): EngineOptions => cli.options();
  program
    .command('events')
    .description('print the event journal of the database (--follow to tail it while an engine runs)')
    .option('--after <seq>', 'only events after this journal sequence number', whole('--after'))
    .option('-n, --last <n>', 'the last N events (default 20, unless --after is given)', whole('--last'))
    .option('--type <name...>', 'only these event types (e.g. task_failed recovery)')
    .option('-f, --follow', 'keep printing new events until interrupted')
    .addHelpText('after', '\nWith --json: one JSON object per line (JSON Lines), { seq, type, timestamp, data }.')
    .action(async (opts: { after?: number; last?: number; type?: string[]; follow?: boolean }) => {
      if (natsUrl(flags()) !== undefined) {
        throw new InvalidArgumentError(
          "events: --nats: the journal is read from a database on this disk; the daemon's is in its own (run `codomyrmex events --db PATH` where it runs, or watch its live events with `nats sub '<prefix>.evt.>'`); drop --nats or unset CODOMYRMEX_NATS_URL",
        );
      }
      const store = await openReadOnly(options());
      try {
        const types = opts.type as EventName[] | undefined;
        let after = opts.after ?? Math.max(0, store.lastEventSeq() - (opts.last ?? 20));
        const read = (): number => {
          let n = 0;
          for (;;) {
            const page = store.readEvents({ afterSeq: after, limit: 1000, ...(types ? { types } : {}) });
            printEvents(page, cli.json());
            n += page.length;
            const last = page[page.length - 1];
            if (!last) return n;
            after = last.seq;
          }
        };
        read();
        let stop = false;
        process.once('SIGINT', () => (stop = true));
        while (opts.follow && !stop) {
          await sleep(200);
          read();
        }
      } finally {
        store.close();
      }
    });

  const task = program.commands.find((c) => c.name() === 'task');
  task
    ?.command('list')
    .description("list the stored tasks, newest first, a page at a time (with --nats or --daemon, the daemon's)")
    .addOption(new Option('--status <status...>', 'only these statuses').choices(TASK_STATUSES))
    .option('--limit <n>', 'at most this many, the newest', whole('--limit'), 100)
    .option('--offset <n>', 'skip this many newest first (the next page: --offset LIMIT)', whole('--offset'), 0)
    .addHelpText(
      'after',
      '\nExamples:\n  codomyrmex task list --limit 5                   the five newest tasks\n  codomyrmex task list --status failed --offset 100  the second page of failed tasks',
    )
    .action(async (opts: { status?: string[]; limit: number; offset: number }) => {
      const page = {
        limit: opts.limit,
        offset: opts.offset,
        newest: true,
        ...(opts.status ? { status: opts.status as TaskStatus[] } : {}),
      };
      const url = natsUrl(flags());
      const http = daemonUrl(flags());
      let rows: Record<string, unknown>[];
      if (url !== undefined || http !== undefined) {
        const { withDaemon, withHttpDaemon } = await import('./remote.js');
        const views =
          http !== undefined
            ? await withHttpDaemon(http, flags(), (e) => e.tasks.listTasks(page))
            : await withDaemon(url ?? '', flags(), (e) => e.tasks.listTasks(page));
        if (cli.json()) return console.log(JSON.stringify(views, null, 2));
        rows = views.map((t) => ({
          id: t.id,
          task: t.name,
          action: `${t.module}.${t.action}`,
          status: t.status,
          attempts: t.attempts,
          updated: iso(t.result.endedAt ?? t.result.startedAt),
        }));
      } else {
        const store = await openReadOnly(options());
        try {
          const tasks = store.listTasks(page);
          if (cli.json()) return console.log(JSON.stringify(tasks, null, 2));
          rows = tasks.map((t) => ({
            id: t.spec.id,
            task: t.spec.name,
            action: `${t.spec.module}.${t.spec.action}`,
            status: t.status,
            attempts: t.result.attempts,
            updated: new Date(t.updatedAt).toISOString(),
          }));
        } finally {
          store.close();
        }
      }
      printTable(rows);
      if (rows.length === opts.limit && opts.limit > 0)
        console.log(
          `\n${opts.offset + 1}-${opts.offset + rows.length}, newest first; older ones: --offset ${opts.offset + rows.length}`,
        );
    });
}
