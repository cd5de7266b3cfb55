import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BusEvent, StoredTask, TaskStatus } from '../../src/index.js';
import { parseTaskInput } from '../../src/model/taskInput.js';

/** A fresh folder under the OS temp dir; `cleanup()` removes every folder made so far. */
export function tempDirs(): { make: (label?: string) => string; cleanup: () => void } {
  const made: string[] = [];
  return {
    make: (label = 'store') => {
      const dir = mkdtempSync(join(tmpdir(), `codomyrmex-${label}-`));
      made.push(dir);
      return dir;
    },
    cleanup: () => {
      for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** A stored task with every field filled in. */
export function storedTask(id: string, status: TaskStatus, extra: Partial<StoredTask> = {}): StoredTask {
  const spec = parseTaskInput({
    id,
    name: `task-${id}`,
    module: 'core',
    action: 'echo',
    parameters: { value: { nested: [1, 'two', null] } },
    priority: 'high',
    dependencies: [],
    timeout: 5,
    maxRetries: 2,
    retry: { initialDelay: 0.5 },
    idempotencyKey: `key-${id}`,
    metadata: { owner: 'test' },
  });
  const done = !['pending', 'ready', 'running', 'retrying'].includes(status);
  return {
    spec,
    status,
    result: {
      taskId: id,
      name: spec.name,
      status,
      success: status === 'completed',
      result: status === 'completed' ? { out: id } : null,
      error:
        status === 'failed' ? { name: 'ActionError', code: 'ACTION_FAILED', message: 'boom', retryable: true } : null,
      attempts: status === 'pending' ? 0 : 1,
      startedAt: status === 'pending' ? null : 1000,
      endedAt: done ? 2000 : null,
      durationMs: done ? 1000 : null,
    },
    retryAt: status === 'retrying' ? 5000 : null,
    updatedAt: 3000,
    ...extra,
  };
}

/** A `core.noop` task as the store keeps it, with no more than it must have: pending, or completed at time 0. */
export function noopTask(id: string, status: 'pending' | 'completed'): StoredTask {
  const done = status === 'completed';
  return {
    spec: {
      id,
      name: id,
      module: 'core',
      action: 'noop',
      parameters: {},
      priority: 'normal',
      dependencies: [],
      resources: {},
      maxRetries: 0,
      retry: { initialDelay: 1, factor: 2, maxDelay: 60, jitter: 0 },
      metadata: {},
    },
    status,
    result: {
      taskId: id,
      name: id,
      status,
      success: done,
      result: null,
      error: null,
      attempts: done ? 1 : 0,
      startedAt: done ? 0 : null,
      endedAt: done ? 0 : null,
      durationMs: done ? 0 : null,
    },
    updatedAt: 0,
  };
}

/** A bus event as the journal receives it. */
export function busEvent(seq: number, timestamp = 1000 + seq): BusEvent {
  return {
    type: 'task_queued',
    seq,
    timestamp,
    data: {
      taskId: `t${seq}`,
      name: 'n',
      module: 'core',
      action: 'noop',
      priority: 'normal',
      status: 'ready',
      attempt: 0,
    },
  };
}
