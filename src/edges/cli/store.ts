/**
 * CLI commands that read the durable store directly, read-only: they work while an engine (or the daemon) has
 * the database open, and never take its lock. With `--nats`, `task list` asks the daemon instead; `events` reads a
 * journal on this disk only, so it refuses `--nats` and says where the daemon's is.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineOptions, EventName, JournalEntry, Store, TaskStatus } from '../../index.js';
import { compileOptions, PostgresStore, SqliteStore } from '../../index.js';
import type { GlobalFlags } from './context.js';
import { printTable } from './format.js';
import { daemonUrl, natsUrl, withDaemon, withHttpDaemon } from './remote.js';

function openReadOnly(options: EngineOptions): Store {
  const compiled = compileOptions(options, process.env, { store: 'sqlite' });
  if (compiled.postgres) return PostgresStore.open({ url: compiled.postgres.url, readonly: true });
  return SqliteStore.open({ path: compiled.dbPath, readonly: true });
}

function whole(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a whole number (got "${value}")`);
    return n;
  };
}

function printEvents(entries: JournalEntry[], json: boolean): void {
  for (const e of entries) {
    if (json) console.log(JSON.stringify(e));
    else console.log(`${String(e.seq).padStart(8)}  ${new Date(e.timestamp).toISOString()}  ${e.type.padEnd(16)}  ${JSON.stringify(e.data)}`);
  }
}

const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());

export function registerStoreCommands(program: Command, options: () => EngineOptions): void {
  const flags = (): GlobalFlags => program.opts<GlobalFlags>();
  program
    .command('events')
    .description('print the event journal of the database (--follow to tail it while an engine runs)')
    .option('--after <seq>', 'only events after this journal sequence number', whole('--after'))
    .option('-n, --last <n>', 'the last N events (default 20, unless --after is given)', whole('--last'))
    .option('--type <name...>', 'only these event types (e.g. task_failed recovery)')
    .option('-f, --follow', 'keep printing new events until interrupted')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { after?: number; last?: number; type?: string[]; follow?: boolean; json?: boolean }) => {
      if (natsUrl(flags()) !== undefined) {
        throw new InvalidArgumentError("events: --nats: the journal is read from a database on this disk; the daemon's is in its own (run `codomyrmex events --db PATH` where it runs, or watch its live events with `nats sub '<prefix>.evt.>'`); drop --nats or unset CODOMYRMEX_NATS_URL");
      }
      const store = openReadOnly(options());
      try {
        const types = opts.type as EventName[] | undefined;
        let after = opts.after ?? Math.max(0, store.lastEventSeq() - (opts.last ?? 20));
        const read = (): number => {
          let n = 0;
          for (;;) {
            const page = store.readEvents({ afterSeq: after, limit: 1000, ...(types ? { types } : {}) });
            printEvents(page, opts.json === true);
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
    .description("list the tasks stored in the database (with --nats or --daemon, the daemon's tasks)")
    .option('--status <status...>', 'only these statuses (pending ready running retrying completed failed ...)')
    .option('--limit <n>', 'at most this many (default 100)', whole('--limit'), 100)
    .option('--json', 'print as JSON')
    .action(async (opts: { status?: string[]; limit: number; json?: boolean }) => {
      const url = natsUrl(flags());
      const http = daemonUrl(flags());
      if (url !== undefined || http !== undefined) {
        const status = opts.status as TaskStatus[] | undefined;
        const via = http !== undefined ? withHttpDaemon : withDaemon;
        const views = await via((http ?? url)!, flags(), (e) => e.tasks.listTasks({ limit: opts.limit, ...(status ? { status } : {}) }));
        if (opts.json || flags().json) console.log(JSON.stringify(views, null, 2));
        else printTable(views.map((t) => ({ id: t.id, task: t.name, action: `${t.module}.${t.action}`, status: t.status, attempts: t.attempts, updated: iso(t.result.endedAt ?? t.result.startedAt) })));
        return;
      }
      const store = openReadOnly(options());
      try {
        const tasks = store.listTasks({ limit: opts.limit, ...(opts.status ? { status: opts.status as TaskStatus[] } : {}) });
        if (opts.json) console.log(JSON.stringify(tasks, null, 2));
        else
          printTable(
            tasks.map((t) => ({
              id: t.spec.id,
              task: t.spec.name,
              action: `${t.spec.module}.${t.spec.action}`,
              status: t.status,
              attempts: t.result.attempts,
              updated: new Date(t.updatedAt).toISOString(),
            })),
          );
      } finally {
        store.close();
      }
    });
}
