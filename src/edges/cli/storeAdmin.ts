/**
 * `codomyrmex store migrate` (bring a database's schema up to this release, for installations whose daemons run
 * with `migrate: false`) and `codomyrmex store copy --from sqlite:PATH --to postgres://...` (move an embedded
 * installation to PostgreSQL, checked row count by row count).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { EngineOptions } from '../../index.js';
import { ErrorCode, StoreError } from '../../errors.js';
import type { CopyReport } from '../../store/copy.js';
import type { Store } from '../../store/store.js';
import type { GlobalFlags } from './context.js';
import { printTable } from './format.js';

/** The stores and the option compiler, loaded when a store command runs (PostgreSQL's client only when used). */
const stores = async () => {
  const [{ compileOptions }, { SqliteStore }, { SCHEMA_VERSION }, { copyStore }, { isPostgresUrl }] = await Promise.all(
    [
      import('../../config/compile.js'),
      import('../../store/sqlite.js'),
      import('../../store/migrations.js'),
      import('../../store/copy.js'),
      import('../../store/postgresOpen.js'),
    ],
  );
  const postgres = async () => (await import('../../store/postgres.js')).PostgresStore;
  return { compileOptions, SqliteStore, SCHEMA_VERSION, copyStore, isPostgresUrl, postgres };
};

/** `sqlite:PATH`, a bare path, or a `postgres://` URL. */
function parseLocation(
  value: string,
  flag: string,
  isPostgresUrl: (value: string) => boolean,
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
      const { compileOptions, SqliteStore, SCHEMA_VERSION, postgres } = await stores();
      const compiled = compileOptions(options(), process.env, { store: 'sqlite' });
      let report: { store: string; database: string; from: number; to: number };
      if (compiled.postgres) {
        const r = await (await postgres()).migrate(compiled.postgres.url);
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
      const { SqliteStore, copyStore, isPostgresUrl, postgres } = await stores();
      const from = parseLocation(opts.from, '--from', isPostgresUrl);
      const to = parseLocation(opts.to, '--to', isPostgresUrl);
      if (from.kind === 'postgres' && to.kind === 'postgres' && from.url === to.url)
        throw new InvalidArgumentError('--to: is the same database as --from');
      const source: Store =
        from.kind === 'sqlite'
          ? SqliteStore.open({ path: from.path, readonly: true })
          : await (await postgres()).openAsync({ url: from.url, readonly: true });
      let report: CopyReport;
      try {
        report = await copyStore(source, async () =>
          to.kind === 'postgres'
            ? (await postgres()).openAsync({ url: to.url, engineId: 'codomyrmex store copy' })
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
