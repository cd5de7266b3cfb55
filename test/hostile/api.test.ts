/**
 * Issue 16 item 14 (API parts) and item 10's alias bomb: thrown plain objects, malformed task batches and filters,
 * YAML merge keys, YAML alias bombs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import { NotFoundError, serializeError, ValidationError } from '../../src/errors.js';
import type { OrchestrationEngine } from '../../src/index.js';
import { parseDefinitionText, readDefinitionFile } from '../../src/workflows/loader.js';
import { recordEvents, testEngine } from '../helpers.js';

let engine: OrchestrationEngine;
let dir: string;
beforeAll(async () => {
  engine = testEngine({ threads: 1, moduleDirs: [packagePath('dist', 'test', 'fixtures', 'hostile')] });
  await engine.ready();
  dir = await mkdtemp(join(tmpdir(), 'codomyrmex-hostile-api-'));
});
afterAll(async () => {
  await engine.shutdown();
  await rm(dir, { recursive: true, force: true });
});

describe('thrown plain objects', () => {
  it('are not retried when they say retryable: false, and report their message', async () => {
    const events = recordEvents(engine);
    const r = await engine.tasks.executeTask({
      module: 'throwers',
      action: 'plain',
      parameters: { message: 'quota exhausted', retryable: false },
      maxRetries: 3,
      retry: { initialDelay: 0.001, maxDelay: 0.001 },
    });
    events.stop();
    expect(r).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'NON_RETRYABLE', message: 'quota exhausted' },
    });
    expect(events.of('task_retrying')).toHaveLength(0);
  });

  it('are retried when retryable, and an object with no message is shown as its JSON', async () => {
    const r = await engine.tasks.executeTask({
      module: 'throwers',
      action: 'plain',
      parameters: { message: 'flaky', retryable: true },
      maxRetries: 1,
      retry: { initialDelay: 0.001, maxDelay: 0.001 },
    });
    expect(r).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'ACTION_FAILED', message: 'flaky' } });
    const bare = await engine.tasks.executeTask({ module: 'throwers', action: 'bare', maxRetries: 0 });
    expect(bare.error?.message).toBe('a thrown value with no message: {"status":503,"detail":"upstream down"}');
    expect(serializeError(Object.create(null) as object).message).not.toContain('[object Object]');
  });
});

describe('malformed task requests', () => {
  it('addTasks with a string is a ValidationError, not a raw TypeError', async () => {
    const err = await engine.tasks.addTasks('x' as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toBe(
      'tasks: must be an array of tasks, e.g. [{ module: "core", action: "echo" }] (got the string "x")',
    );
    // Over the bus too (a NATS or MCP payload arrives this way).
    await expect(engine.bus.request('task.add', { tasks: { length: 1 } as never })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('listTasks with an unknown status or a bad limit is refused instead of answering []', async () => {
    await expect(engine.tasks.listTasks({ status: 'finished' as never })).rejects.toThrow(
      'filter.status: unknown status "finished"; use one of pending, ready, running',
    );
    await expect(engine.tasks.listTasks({ status: ['completed', 'done'] as never })).rejects.toThrow(
      'filter.status[1]: unknown status "done"',
    );
    await expect(engine.tasks.listTasks({ limit: -1 })).rejects.toThrow('filter.limit: must be a whole number >= 0');
    expect(await engine.tasks.listTasks({ status: ['completed', 'failed'], limit: 1000 })).toEqual(expect.any(Array));
  });
});

describe('definition files', () => {
  it('support YAML merge keys (<<)', () => {
    const def = parseDefinitionText(
      [
        'name: merged',
        'x-defaults: &defaults',
        '  module: core',
        '  action: echo',
        '  max_retries: 0',
        'steps:',
        '  - <<: *defaults',
        '    name: a',
        '  - <<: *defaults',
        '    name: b',
        '    depends_on: [a]',
      ].join('\n'),
      'merged.yaml',
    ) as { steps: unknown[] };
    expect(def.steps).toEqual([
      { module: 'core', action: 'echo', max_retries: 0, name: 'a' },
      { module: 'core', action: 'echo', max_retries: 0, name: 'b', depends_on: ['a'] },
    ]);
  });

  it('refuse a YAML alias bomb with an error naming the file and the limit', async () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      lines.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(', ')}]`);
    const file = join(dir, 'bomb.yaml');
    await writeFile(file, `${lines.join('\n')}\nname: bomb\nsteps: []\n`);
    const err = await readDefinitionFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(
      new RegExp(`^${file}: its YAML aliases expand past 100 nodes \\(limit maxAliasCount`),
    );
  });

  it('a missing file is a NotFoundError naming it', async () => {
    const err = await readDefinitionFile(join(dir, 'missing.yaml')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe(`${join(dir, 'missing.yaml')}: no such file; check the path`);
  });
});
