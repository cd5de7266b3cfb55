/**
 * Intake asks the store whether an id is taken only for ids a caller named: an id intake made itself (a fresh
 * uuid) cannot belong to a stored task, and that read cost a SQLite query on the path of every task.
 */
import { describe, expect, it } from 'vitest';
import { accept, type IntakeContext } from '../../src/actors/tasks/intake.js';
import { ModuleRegistry } from '../../src/index.js';
import type { TaskStatus } from '../../src/model/task.js';

function context(stored: Record<string, TaskStatus>): { ctx: IntakeContext; asked: string[] } {
  const asked: string[] = [];
  const ctx: IntakeContext = {
    registry: new ModuleRegistry(),
    laneOpen: () => true,
    record: () => undefined,
    storedStatuses: (ids) => {
      asked.push(...ids);
      return new Map(ids.flatMap((id) => (stored[id] ? [[id, stored[id]] as const] : [])));
    },
  };
  return { ctx, asked };
}

describe('intake store lookups', () => {
  it('does not ask the store about an id it made', () => {
    const { ctx, asked } = context({});
    const decided = accept([{ module: 'core', action: 'noop' }], ctx);
    expect(decided.accepted).toHaveLength(1);
    expect(asked).toEqual([]);
  });

  it('still refuses a named id a stored task holds, and looks up dependencies', () => {
    const { ctx, asked } = context({ done: 'completed', dep: 'completed' });
    expect(() => accept([{ id: 'done', module: 'core', action: 'noop' }], ctx)).toThrow(
      /task "core.noop"\.id: a task with id "done" already exists/,
    );
    asked.length = 0;
    const decided = accept([{ module: 'core', action: 'noop', dependencies: ['dep'] }], ctx);
    expect(asked).toEqual(['dep']);
    expect(decided.stored.get('dep')).toBe('completed');
  });
});
