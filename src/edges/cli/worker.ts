/**
 * `codomyrmex worker` (a remote worker process) and `codomyrmex workers list` (the workers a daemon knows). The NATS
 * client, the worker, its logger and tracing load when one of them runs, not with the rest of the CLI.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';

import { packageVersion } from '../../config/options.js';
import { BusError, ErrorCode, ValidationError } from '../../errors.js';
import { TAG_RE } from '../../model/vocabulary.js';
import type { CliContext, GlobalFlags } from './context.js';
import { printTable } from './format.js';
import type { LogLevel } from '../daemon/logger.js';

interface WorkerFlags {
  tags?: string;
  concurrency?: number;
  name?: string;
  ackWait?: string;
  heartbeat?: string;
  grace?: string;
  logLevel?: string;
}

function natsOf(flags: GlobalFlags, what: string): { servers: string[]; subjectPrefix: string } {
  const url = flags.nats ?? process.env['CODOMYRMEX_NATS_URL'];
  if (!url) throw new ValidationError(`${what}: give --nats URL (or CODOMYRMEX_NATS_URL): the daemon's NATS server`);
  return {
    servers: url
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    subjectPrefix: flags.subjectPrefix ?? process.env['CODOMYRMEX_SUBJECT_PREFIX'] ?? 'codomyrmex',
  };
}

/** Connects to NATS, or throws a `BusError` naming the servers and the likely fix (not nats.js's bare message). */
async function connectNats(options: NodeConnectionOptions & { servers: string | string[] }): Promise<NatsConnection> {
  const [{ connect }, { natsUnreachable }] = await Promise.all([
    import('@nats-io/transport-node'),
    import('../../bus/nats.js'),
  ]);
  try {
    return await connect(options);
  } catch (err) {
    throw natsUnreachable(options.servers, err);
  }
}

/** `gpu,big-mem` checked. */
export function parseTags(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [];
  const tags = [
    ...new Set(
      text
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ];
  const bad = tags.filter((t) => !TAG_RE.test(t));
  if (bad.length)
    throw new ValidationError(
      `--tags: ${bad.map((t) => `"${t}"`).join(', ')} is not a tag: use letters, digits, _ . - (e.g. --tags gpu,big-mem)`,
    );
  return tags.sort();
}

export function registerWorkerCommands(program: Command, cli: CliContext): void {
  program
    .command('worker')
    .description(
      "run a remote worker: a local thread pool that pulls a daemon's tasks from its JetStream work queue (needs --nats; the daemon runs with --remote-workers or --no-local-workers)",
    )
    .option(
      '--tags <list>',
      'tags this worker has, comma-separated (tasks with placement.tags run only on workers with all of them)',
    )
    .option(
      '--concurrency <n>',
      'tasks one thread runs at once (default 1; more suits I/O-bound actions); it takes threads × this at a time',
      (v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 256)
          throw new ValidationError(`--concurrency: must be a whole number from 1 to 256 (got "${v}")`);
        return n;
      },
    )
    .option('--name <name>', 'its name in `workers list` (default: host-pid)')
    .option(
      '--ack-wait <duration>',
      'how long a task it took and stopped answering for waits before JetStream gives it to another worker (default 10s)',
    )
    .option('--heartbeat <duration>', 'how often it announces itself to the daemon (default 1s)')
    .option('--grace <duration>', 'on SIGTERM/SIGINT, how long running tasks get to finish (default 30s)')
    .option('--log-level <level>', 'fatal | error | warn | info (default) | debug | silent')
    .action(async (opts: WorkerFlags) => {
      const g = program.opts<GlobalFlags>();
      const nats = natsOf(g, 'worker');
      const [
        { compileTracing },
        { loadTracing },
        { createLogger, LOG_LEVELS },
        { parseDuration },
        { clientConnection },
        { RemoteWorker },
      ] = await Promise.all([
        import('../../config/tracing.js'),
        import('../../traces/tracing.js'),
        import('../daemon/logger.js'),
        import('../daemon/options.js'),
        import('./remote.js'),
        import('../../workers/jetstream/worker.js'),
      ]);
      const level = (opts.logLevel ?? 'info') as LogLevel;
      if (!(LOG_LEVELS as readonly string[]).includes(level))
        throw new ValidationError(`--log-level: must be one of ${LOG_LEVELS.join(', ')} (got "${level}")`);
      // Traced with the standard OTEL_* variables (or the config file's tracing section), as `codomyrmex-worker`.
      const tracingOptions = compileTracing(cli.options().tracing ?? {}, process.env, 'codomyrmex-worker');
      const tracing = tracingOptions.enabled ? await loadTracing(tracingOptions) : null;
      const log = createLogger('json', level);
      const version = packageVersion();
      const ackWaitMs = opts.ackWait !== undefined ? parseDuration(opts.ackWait, '--ack-wait') : 10_000;
      if (ackWaitMs < 1000) throw new ValidationError(`--ack-wait: must be at least 1s (got ${ackWaitMs} ms)`);
      const name = opts.name ?? `${hostname()}-${process.pid}`;
      const worker = new RemoteWorker({
        connect: () =>
          // Credentials and TLS from the variables the daemon and the other clients read.
          connectNats({ ...clientConnection(process.env), servers: nats.servers, name: `codomyrmex-worker-${name}` }),
        subjectPrefix: nats.subjectPrefix,
        moduleDirs: cli.options().moduleDirs ?? [],
        threads: g.threads ?? 1,
        concurrency: opts.concurrency ?? 1,
        tags: parseTags(opts.tags),
        name,
        ackWaitMs,
        heartbeatMs: opts.heartbeat !== undefined ? parseDuration(opts.heartbeat, '--heartbeat') : 1000,
        version,
        log,
        tracing,
        maxAttributeLength: tracingOptions.maxAttributeLength,
      });
      const graceMs = opts.grace !== undefined ? parseDuration(opts.grace, '--grace') : 30_000;
      let signals = 0;
      const onSignal = (): void => {
        if (++signals > 1) process.exit(1);
        log.info({ graceMs }, 'signal received: finishing running tasks (send it again to force)');
        worker.stop(graceMs).then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      await worker.start();
    });

  program
    .command('workers')
    .description("the daemon's remote workers")
    .command('list')
    .description(
      'the remote workers the daemon knows: name, host, tags, threads, in flight, attempts completed and failed, state (needs --nats)',
    )
    .action(async () => {
      const nats = natsOf(program.opts<GlobalFlags>(), 'workers list');
      const [{ encode, remoteSubjects }, { decodeAs }] = await Promise.all([
        import('../../workers/jetstream/protocol.js'),
        import('../../workers/jetstream/schemas.js'),
      ]);
      const nc = await connectNats({ servers: nats.servers, name: 'codomyrmex-cli' });
      try {
        const reply = await nc
          .request(remoteSubjects(nats.subjectPrefix).list, encode({}), {
            timeout: program.opts<GlobalFlags>().requestTimeout ?? 5000,
          })
          .catch((err: unknown) => {
            throw new BusError(
              `no daemon answers on prefix ${nats.subjectPrefix} at ${nats.servers.join(',')} (workers list needs a daemon started with --remote-workers or --no-local-workers): ${(err as Error).message}`,
              ErrorCode.BUS_UNAVAILABLE,
              { cause: err },
            );
          });
        const { workers } = decodeAs('workerList', reply.data);
        cli.out({ workers }, ({ workers: ws }) => {
          if (ws.length === 0) console.log('no remote workers');
          else
            printTable(
              ws.map((w) => ({
                name: w.name,
                host: w.host,
                state: w.state,
                tags: w.tags.join(',') || '-',
                threads: w.threads,
                capacity: w.capacity,
                inFlight: w.inFlight,
                completed: w.tasksCompleted,
                failed: w.tasksFailed,
                modules: w.modules.length,
                version: w.version,
                lastSeen: `${Math.round(w.lastSeenMs / 100) / 10}s`,
              })),
            );
        });
      } finally {
        await nc.close();
      }
    });
}
