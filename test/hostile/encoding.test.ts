/**
 * Issue 16 item 2 (and the intake half of item 12): values that cannot be stored as JSON or cloned to a worker are
 * refused with a ValidationError naming the field before anything is accepted, and a record that can never be
 * written is dropped (with a component_error) instead of failing every later commit.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import type { OrchestrationEngine } from '../../src/index.js';
import { GroupCommitter, RecordQueue } from '../../src/store/commits.js';
import { toJson } from '../../src/store/json.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { StoreError } from '../../src/errors.js';
import { recordEvents, testEngine } from '../helpers.js';

const throwing = {
  toJSON: (): never => {
    throw new Error('no JSON for you');
  },
};
class Unjsonable {
  toJSON(): never {
    throw new Error('refused');
  }
}
const cyclic: Record<string, unknown> = { a: 1 };
cyclic['self'] = cyclic;

/** [label, bad value, what the message must say] */
const BAD: [string, unknown, RegExp][] = [
  ['a toJSON that throws', throwing, /its toJSON\(\) threw \(no JSON for you\)/],
  ['a class whose toJSON throws', new Unjsonable(), /its toJSON\(\) threw \(refused\)/],
  ['a BigInt', 10n, /a BigInt cannot be stored as JSON/],
  ['a cycle', cyclic, /\.self: refers back to an object that contains it \(a cycle\)/],
  ['a function', () => 1, /a function cannot be stored or sent to a worker thread/],
  [
    'an object with a method',
    {
      run(): number {
        return 1;
      },
    },
    /\.run: a function cannot be stored/,
  ],
  ['a Symbol', Symbol('s'), /a Symbol cannot be stored/],
  ['a Promise', Promise.resolve(1), /a Promise cannot be stored/],
];

let dir: string;
let strict: OrchestrationEngine;
let relaxed: OrchestrationEngine;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codomyrmex-hostile-encoding-'));
  strict = testEngine({ threads: 1, store: 'sqlite', dbPath: join(dir, 'strict.db'), durability: 'strict' });
  relaxed = testEngine({ threads: 1, store: 'sqlite', dbPath: join(dir, 'relaxed.db'), durability: 'relaxed' });
  await Promise.all([strict.ready(), relaxed.ready()]);
  await strict.workflows.createWorkflow('echo_once', [
    { name: 'a', module: 'core', action: 'echo', parameters: { value: '{{params.x}}' } },
  ]);
});
afterAll(async () => {
  await Promise.all([strict.shutdown(), relaxed.shutdown()]);
  await rm(dir, { recursive: true, force: true });
});

describe('values that cannot be encoded', () => {
  for (const [label, value, message] of BAD) {
    it(`refuses ${label} as a task parameter or metadata, naming the field, before the task is accepted`, async () => {
      const events = recordEvents(relaxed);
      const err = await relaxed.tasks
        .addTask({ module: 'core', action: 'echo', parameters: { value: 1, nested: { bad: value } } })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(/^task\.parameters\.nested\.bad/);
      expect((err as Error).message).toMatch(message);
      const meta = await relaxed.tasks
        .executeTask({ module: 'core', action: 'echo', parameters: { value: 1 }, metadata: { bad: value } })
        .catch((e: unknown) => e);
      expect(meta).toBeInstanceOf(ValidationError);
      expect((meta as Error).message).toMatch(/^task\.metadata\.bad/);
      events.stop();
      expect(events.of('task_queued')).toHaveLength(0);
    });

    it(`refuses ${label} as a run parameter on a strict SQLite engine, which keeps working`, async () => {
      const err = await strict.workflows.executeWorkflow('echo_once', { x: value }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(/^params\.x/);
      expect((err as Error).message).toMatch(message);
      const ok = await strict.tasks.executeTask({
        module: 'core',
        action: 'echo',
        parameters: { value: 'still fine' },
      });
      expect(ok).toMatchObject({ status: 'completed', result: 'still fine' });
    });
  }

  it('refuses a flat parameter (the fast intake path) that is a BigInt, a function or a Symbol', async () => {
    for (const value of [1n, () => 1, Symbol('x')]) {
      await expect(relaxed.tasks.addTask({ module: 'core', action: 'echo', parameters: { value } })).rejects.toThrow(
        /^task\.parameters\.value: a /,
      );
    }
  });

  it('refuses a step parameter that is a function when the workflow is created', async () => {
    await expect(
      strict.workflows.createWorkflow('bad_step', [
        { name: 'a', module: 'core', action: 'echo', parameters: { value: () => 1 } },
      ]),
    ).rejects.toThrow(/step "a"\.parameters\.value: a function cannot be stored/);
  });

  it('keeps a strict engine healthy after a refused value', async () => {
    await strict.workflows.executeWorkflow('echo_once', { x: throwing }).catch(() => undefined);
    const run = await strict.workflows.executeWorkflow('echo_once', { x: 'plain' });
    expect(run.status).toBe('succeeded');
    const health = await strict.healthCheck();
    expect(health.components['store']?.status).toBe('healthy');
  });
});

describe('the store never wedges on one record', () => {
  it('toJson never throws, whatever the value', () => {
    expect(toJson({ a: throwing, b: 2n, c: cyclic })).toBe(
      '{"a":"[unencodable: toJSON() threw no JSON for you]","b":"2","c":{"a":1,"self":"[Circular]"}}',
    );
  });

  it('drops a record that cannot be built, says so, and commits the rest and everything later', async () => {
    const store = new MemoryStore();
    const dropped: [string, StoreError][] = [];
    const commits = new GroupCommitter(store, { onDropped: (what, error) => dropped.push([what, error]) });
    const queue = new RecordQueue(commits);
    queue.write('workflow_runs', 'bad', () => {
      throw new Error('view() failed');
    });
    queue.write('workflow_runs', 'good', { kind: 'workflow_runs', id: 'good', data: { ok: true } });
    await commits.afterCommit(null);
    expect(dropped.map(([what, e]) => [what, e.message])).toEqual([
      [
        'workflow_runs/bad',
        'workflow_runs/bad could not be written and was dropped (it would fail every commit): view() failed',
      ],
    ]);
    expect(store.getRecord('workflow_runs', 'good')?.data).toEqual({ ok: true });
    queue.write('workflow_runs', 'later', { kind: 'workflow_runs', id: 'later', data: 1 });
    await commits.afterCommit(null);
    expect(store.getRecord('workflow_runs', 'later')?.data).toBe(1);
    expect(commits.fault).toBeNull();
    expect(commits.stats()).toMatchObject({ failures: 0, dropped: 1 });
    await commits.close();
  });
});
