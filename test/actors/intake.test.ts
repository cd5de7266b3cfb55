import { describe, expect, it, vi } from 'vitest';
import type { IntakeContext } from '../../src/actors/tasks/intake.js';
import { accept, Intake } from '../../src/actors/tasks/intake.js';
import { ValidationError } from '../../src/errors.js';
import type { TaskStatus } from '../../src/model/task.js';
import { ModuleRegistry } from '../../src/modules/registry.js';

function context(stored: Record<string, TaskStatus> = {}) {
  const registry = new ModuleRegistry();
  const storedStatuses = vi.fn(
    (ids: string[]) => new Map(ids.filter((id) => stored[id] !== undefined).map((id) => [id, stored[id]!])),
  );
  const ctx: IntakeContext = { registry, laneOpen: () => true, record: () => undefined, storedStatuses };
  return { ctx, registry, storedStatuses };
}

describe('accept (intake)', () => {
  it('does not look up in the store the id it made for a task that named none, but does look up a named one', () => {
    const { ctx, storedStatuses } = context();
    const [made] = accept([{ module: 'core', action: 'noop' }], ctx).accepted;
    expect(made?.minted).toBe(true);
    expect(storedStatuses).not.toHaveBeenCalled();
    accept([{ id: 'named', module: 'core', action: 'noop' }], ctx);
    expect(storedStatuses).toHaveBeenCalledWith(['named']);
  });

  it('still refuses a named id the store has, and a dependency nobody has; reads a stored dependency', () => {
    const { ctx, storedStatuses } = context({ taken: 'completed', dep: 'completed' });
    const decided = accept([{ module: 'core', action: 'noop', dependencies: ['dep'] }], ctx);
    expect(storedStatuses).toHaveBeenLastCalledWith(['dep']);
    expect(decided.stored.get('dep')).toBe('completed');
    expect(() => accept([{ id: 'taken', module: 'core', action: 'noop' }], ctx)).toThrow(/"taken" already exists/);
    expect(() => accept([{ module: 'core', action: 'noop', dependencies: ['ghost'] }], ctx)).toThrow(
      /unknown task id "ghost"/,
    );
  });

  it('parses empty parameters once per action schema that accepts them, and refuses them where the schema does not', () => {
    const { ctx, registry } = context();
    const parse = vi.spyOn(registry, 'parseParams');
    accept([{ module: 'core', action: 'noop', parameters: {} }], ctx);
    accept([{ module: 'core', action: 'noop' }], ctx);
    expect(parse).not.toHaveBeenCalled();
    accept([{ module: 'core', action: 'noop', parameters: { any: 1 } }], ctx);
    expect(parse).toHaveBeenCalledTimes(1);
    expect(() => accept([{ module: 'core', action: 'sleep', parameters: {} }], ctx)).toThrow(ValidationError);
    expect(() => accept([{ module: 'core', action: 'sleep' }], ctx)).toThrow(/parameters/);
  });

  it('answers deduplicated inputs with the earlier task, the others with their own ids', () => {
    const { ctx } = context();
    const keyed: IntakeContext = { ...ctx, idempotent: (key) => (key === 'k-old' ? 'old-task' : null) };
    const decided = accept(
      [
        { id: 'a', module: 'core', action: 'noop' },
        { id: 'b', module: 'core', action: 'noop', idempotencyKey: 'k-old' },
        { id: 'c', module: 'core', action: 'noop', idempotencyKey: 'k-new' },
        { id: 'd', module: 'core', action: 'noop', idempotencyKey: 'k-new' },
      ],
      keyed,
    );
    expect(decided.answer).toEqual(['a', 'old-task', 'c', 'c']);
    expect(decided.deduplicated).toBe(2);
    expect(decided.accepted.map((a) => a.spec.id)).toEqual(['a', 'c']);
  });

  it('links tasks of one call, refuses a cycle among them, and lists the ids of the call', () => {
    const { ctx } = context();
    const intake = new Intake(ctx, 2);
    intake.take({ id: 'x', module: 'core', action: 'noop', dependencies: ['y'] }, 0);
    intake.take({ id: 'y', module: 'core', action: 'noop' }, 1);
    expect([...intake.ids.keys()]).toEqual(['x', 'y']);
    expect(intake.finish().accepted).toHaveLength(2);
    expect(() =>
      accept(
        [
          { id: 'p', module: 'core', action: 'noop', dependencies: ['q'] },
          { id: 'q', module: 'core', action: 'noop', dependencies: ['p'] },
        ],
        ctx,
      ),
    ).toThrow(/cycle/);
    expect(() =>
      accept(
        [
          { id: 'same', module: 'core', action: 'noop' },
          { id: 'same', module: 'core', action: 'noop' },
        ],
        ctx,
      ),
    ).toThrow(/"same" already exists/);
  });
});
