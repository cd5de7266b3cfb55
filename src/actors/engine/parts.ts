/**
 * The shared parts one engine owns, opened in order: the store first (a database that is corrupt, newer than this
 * code, or held by another engine refuses before any thread starts), then the group committer that writes every
 * component's changes, the event journal, the worker pool and the artifact exchange; and the resource ledger,
 * announcing its holds on the bus. What opened is closed again if a later part fails.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { MessageBus } from '../../bus/bus.js';
import type { CompiledOptions } from '../../config/options.js';
import { serializeError } from '../../errors.js';
import type { Clock } from '../../model/clock.js';
import { GroupCommitter } from '../../store/commits.js';
import { openStore } from '../../store/open.js';
import type { Store } from '../../store/store.js';
import { ArtifactExchange, FolderArtifactStore } from '../../workers/artifacts.js';
import { WorkerPool } from '../../workers/pool.js';
import { ResourceLedger, busLedgerEvents } from '../resources/ledger.js';
import { Journal } from './journal.js';

/**
 * Under strict durability, how long changes nobody waits on (a task's start, events) may wait for a commit somebody
 * does wait on, in ms, so that they share its fsync (see `GroupCommitterOptions.unawaitedDelayMs`).
 */
const UNAWAITED_COMMIT_DELAY_MS = 5;

export interface EngineParts {
  store: Store;
  commits: GroupCommitter;
  /** Null when `journalMaxEvents` is 0. */
  journal: Journal | null;
  pool: WorkerPool;
  artifacts: ArtifactExchange;
}

/** Opens the parts; `open` opens the store (default: the one the options name). Throws with nothing left open. */
export function openParts(
  options: CompiledOptions,
  engineId: string,
  bus: MessageBus,
  open: (options: CompiledOptions, engineId: string) => Store = openStore,
): EngineParts {
  const store = open(options, engineId);
  try {
    const location = store.location;
    const commits = new GroupCommitter(store, {
      delayMs: options.commitDelayMs,
      maxBatch: options.commitMaxBatch,
      // Strict on a durable store: what nobody waits on (a task's start, events) rides with the next commit somebody waits on.
      unawaitedDelayMs:
        options.durability === 'strict' && store.persistent
          ? Math.max(options.commitDelayMs, UNAWAITED_COMMIT_DELAY_MS)
          : 0,
      onFault: (error, downMs) => {
        if (error) bus.publish('store_failed', { store: location, error: serializeError(error) });
        else bus.publish('store_recovered', { store: location, downMs });
      },
      onDropped: (what, error) =>
        bus.publish('component_error', {
          component: 'store',
          operation: `write ${what}`,
          error: serializeError(error),
        }),
    });
    const journal = options.journalMaxEvents > 0 ? new Journal(bus, commits, options.journalMaxEvents) : null;
    const pool = new WorkerPool({
      threads: options.threads,
      concurrentTasksPerWorker: options.concurrentTasksPerWorker,
      moduleDirs: options.moduleDirs,
      tracing: options.tracing.enabled ? { maxAttributeLength: options.tracing.maxAttributeLength } : undefined,
    });
    const ephemeral = options.store === 'memory';
    const artifacts = new ArtifactExchange(
      new FolderArtifactStore(
        ephemeral ? join(tmpdir(), `codomyrmex-artifacts-${engineId}`) : resolve(options.dataDir, 'artifact-store'),
      ),
      ephemeral,
    );
    return { store, commits, journal, pool, artifacts };
  } catch (err) {
    store.close();
    throw err;
  }
}

/** Closes the parts after a failed start of what is built on them: no thread left running, the store unlocked. */
export function abandonParts(parts: EngineParts): void {
  void parts.pool.destroy();
  parts.journal?.stop();
  parts.store.close();
}

/** The resource ledger with the host's CPU and memory, announcing allocations, releases and expiries on the bus. */
export function busLedger(bus: MessageBus, clock: Clock): ResourceLedger {
  const ledger = new ResourceLedger(busLedgerEvents(bus), clock);
  ledger.addHostResources();
  return ledger;
}
