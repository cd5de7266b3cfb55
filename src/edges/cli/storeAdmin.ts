/**
 * `codomyrmex store migrate` (bring a database's schema up to this release, for installations whose daemons run
 * with `migrate: false`) and `codomyrmex store copy --from sqlite:PATH --to postgres://...` (move an embedded
 * installation to PostgreSQL, checked row count by row count).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { EngineOptions } from '../../index.js';
import { compileOptions, PostgresStore, SqliteStore } from '../../index.js';
import { ErrorCode, StoreError } from '../../errors.js';
import { copyStore } from '../../store/copy.js';
import type { CopyReport } from '../../store/copy.js';
import { isPostgresUrl } from '../../store/postgresOpen.js';
import { SCHEMA_VERSION } from '../../store/migrations.js';
import type { Store } from '../../store/store.js';
import type { GlobalFlags } from './context.js';
import { printTable } from './format.js';

/** `sqlite:PATH`, a bare path, or a `postgres://` URL. */
function parseLocation(
  value: string,
  flag: string,
): { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string } {
  if (isPostgresUrl(value)) return { kind: 'postgres', url: value };
  const path = value.startsWith('sqlite:') ? value.slice('sqlite:'.length) : value;
  if (path === '' || /^[a-z]+:\/\//i.test(path))
    throw new InvalidArgumentError(
      `${flag}: must be sqlite:PATH (or a file path) or postgres://user:password@host:5432/database (got "${value}")`,
    );
  return { kind: 'sqlite', path };
}

function printCopy(report: CopyReport): void {
  console.log(`copied ${report.from} -> ${report.to} in ${(report.durationMs / 1000).toFixed(1)} s`);
  printTable(
    report.kinds.map((k) => ({
      kind: k.kind,
      source: k.source,
      copied: k.copied,
      target: k.target,
      check: k.source === k.target ? 'ok' : 'MISMATCH',
    })),
  );
  console.log(report.ok ? 'every kind matches the source' : 'the copy does not match the source (see MISMATCH rows)');
}

export function registerStoreAdminCommands(program: Command, options: () => EngineOptions): void {
  const json = (opts: { json?: boolean }): boolean => opts.json === true || program.opts<GlobalFlags>().json === true;
  const store = program
    .command('store')
    .description('administer the durable store: migrate its schema, copy it to PostgreSQL');

  store
    .command('migrate')
    .description('bring the schema of the database (--db PATH or postgres://...) up to this release, then exit')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const compiled = compileOptions(options(), process.env, { store: 'sqlite' });
      let report: { store: string; database: string; from: number; to: number };
      if (compiled.postgres) {
        const r = await PostgresStore.migrate(compiled.postgres.url);
        report = { store: 'postgres', database: r.location, from: r.from, to: r.to };
      } else if (compiled.store === 'sqlite') {
        // Opening a SQLite file runs its migrations (under the engine lock: a running engine makes this refuse).
        const s = SqliteStore.open({ path: compiled.dbPath, writerThread: false });
        report = { store: 'sqlite', database: s.location, from: s.openedAtVersion, to: SCHEMA_VERSION };
        s.close();
      } else
        throw new InvalidArgumentError(
          'store migrate: the memory store has no schema; give --db PATH or --db postgres://...',
        );
      if (json(opts)) console.log(JSON.stringify(report, null, 2));
      else
        console.log(
          report.from === report.to
            ? `${report.database}: schema version ${report.to}, already up to date`
            : `${report.database}: schema migrated from version ${report.from} to ${report.to}`,
        );
    });

  store
    .command('copy')
    .description(
      'copy an installation to another (empty) database and check it: --from sqlite:PATH --to postgres://...',
    )
    .requiredOption('--from <location>', 'the source: sqlite:PATH (read only; it may stay in use)')
    .requiredOption(
      '--to <location>',
      'the target: postgres://user:password@host:5432/database (empty; its schema is created)',
    )
    .option('--json', 'print as JSON')
    .action(async (opts: { from: string; to: string; json?: boolean }) => {
      const from = parseLocation(opts.from, '--from');
      const to = parseLocation(opts.to, '--to');
      if (from.kind === 'postgres' && to.kind === 'postgres' && from.url === to.url)
        throw new InvalidArgumentError('--to: is the same database as --from');
      const source: Store =
        from.kind === 'sqlite'
          ? SqliteStore.open({ path: from.path, readonly: true })
          : await PostgresStore.openAsync({ url: from.url, readonly: true });
      let report: CopyReport;
      try {
        report = await copyStore(source, () =>
          to.kind === 'postgres'
            ? PostgresStore.openAsync({ url: to.url, engineId: 'codomyrmex store copy' })
            : SqliteStore.open({ path: to.path }),
        );
      } finally {
        await source.drain?.();
        source.close();
      }
      if (json(opts)) console.log(JSON.stringify(report, null, 2));
      else printCopy(report);
      if (!report.ok)
        throw new StoreError(
          `store copy: the target ${report.to} does not match the source ${report.from}`,
          ErrorCode.STORE_WRITE_FAILED,
        );
    });
}
