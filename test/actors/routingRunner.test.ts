/**
 * The scheduler with a runner that routes (as the remote-workers runner does): a task the runner cannot place
 * waits parked without holding up the others, `explainTask` gives the runner's reason, the runner's `onChange`
 * starts it, and while the runner has no room at all nothing starts, then tasks start in priority order.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import { OrchestrationEngine } from '../../src/actors/engine/engine.js';
import type {
  AttemptHooks,
  AttemptRequest,
  PlacementQuery,
  RunningAttempt,
  TaskRunner,
} from '../../src/workers/runner.js';

class RoutingRunner implements TaskRunner {
  readonly tags = new Set<string>();
  room = true;
  readonly started: string[] = [];
  readonly #listeners = new Set<() => void>();
  constructor(readonly local: TaskRunner) {}
  get capacity(): number {
    return this.local.capacity;
  }
  hasRoom(): boolean {
    return this.room;
  }
  place(q: PlacementQuery): string | null {
    const missing = q.tags.filter((t) => !this.tags.has(t));
    return missing.length ? `no worker has ${missing.join(',')}` : null;
  }
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  changed(): void {
    for (const l of this.#listeners) l();
  }
  start(req: AttemptRequest, hooks: AttemptHooks): RunningAttempt {
    this.started.push(req.name);
    return this.local.start(req, hooks);
  }
}

let engine: OrchestrationEngine | null = null;
afterEach(async () => {
  await engine?.shutdown({ graceMs: 1000 });
  engine = null;
});

function start(moduleDirs: string[] = []): RoutingRunner {
  let runner: RoutingRunner | null = null;
  engine = new OrchestrationEngine(
    { threads: 1, store: 'memory', maxConcurrency: 1, moduleDirs },
    {},
    { runner: (local) => (runner = new RoutingRunner(local)) },
  );
  if (!runner) throw new Error('the engine did not ask for a runner');
  return runner;
}

describe('a routing runner', () => {
  it('parks what it cannot place, runs the rest, explains why, and starts it on change', async () => {
    const runner = start();
    const e = engine!;
    await e.ready();
    const [gpu, plain] = await e.tasks.addTasks([
      {
        name: 'needs-gpu',
        module: 'core',
        action: 'echo',
        parameters: { value: 'g' },
        placement: { tags: ['gpu'] },
        priority: 'critical',
      },
      { name: 'plain', module: 'core', action: 'echo', parameters: { value: 'p' } },
    ]);
    void e.tasks.startExecution();
    expect(await e.tasks.waitForTask(plain ?? '')).toMatchObject({ status: 'completed' });
    const why = await e.explainTask(gpu ?? '');
    expect(why).toMatchObject({ status: 'ready', waitingOn: { kind: 'worker', reason: 'no worker has gpu' } });
    expect(why.summary).toContain('waits for a worker: no worker has gpu');
    runner.tags.add('gpu');
    runner.changed();
    expect(await e.tasks.waitForTask(gpu ?? '')).toMatchObject({ status: 'completed', result: 'g' });
  });

  it('starts nothing while it has no room, then in priority order', async () => {
    const runner = start();
    runner.room = false;
    const e = engine!;
    await e.ready();
    const ids = await e.tasks.addTasks([
      { name: 'low', module: 'core', action: 'echo', priority: 'low' },
      { name: 'normal', module: 'core', action: 'echo' },
      { name: 'critical', module: 'core', action: 'echo', priority: 'critical' },
    ]);
    void e.tasks.startExecution();
    expect((await e.explainTask(ids[0] ?? '')).status).toBe('ready');
    expect(runner.started).toEqual([]);
    runner.room = true;
    runner.changed();
    for (const id of ids) await e.tasks.waitForTask(id);
    expect(runner.started).toEqual(['critical', 'normal', 'low']);
  });

  it('refuses a placement with a bad tag, naming the field', async () => {
    start();
    const e = engine!;
    await e.ready();
    await expect(
      e.tasks.addTask({ module: 'core', action: 'echo', placement: { tags: ['gpu', 'gpu'] } }),
    ).rejects.toThrow(/placement\.tags: lists the same tag twice/);
    await expect(e.tasks.addTask({ module: 'core', action: 'echo', placement: { tags: ['a b'] } })).rejects.toThrow(
      /placement\.tags\[0\]: must be a tag/,
    );
  });

  it("adds the tags an action declares to the task's own", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codomyrmex-placed-'));
    const zod = JSON.stringify(pathToFileURL(packagePath('node_modules', 'zod', 'index.js')).href);
    await writeFile(
      join(dir, 'render.mjs'),
      `import { z } from ${zod};\nexport default { name: 'render', actions: { frame: { params: z.object({}), placement: { tags: ['gpu'] }, run: () => 'drawn' } } };\n`,
    );
    try {
      const runner = start([dir]);
      const e = engine!;
      await e.ready();
      const id = await e.tasks.addTask({ module: 'render', action: 'frame', placement: { tags: ['big-mem'] } });
      void e.tasks.startExecution();
      const why = await e.explainTask(id);
      expect(why.waitingOn).toMatchObject({ kind: 'worker', reason: 'no worker has big-mem,gpu' });
      runner.tags.add('gpu');
      runner.tags.add('big-mem');
      runner.changed();
      expect(await e.tasks.waitForTask(id)).toMatchObject({ status: 'completed', result: 'drawn' });
    } finally {
      await engine?.shutdown({ graceMs: 1000 });
      engine = null;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
