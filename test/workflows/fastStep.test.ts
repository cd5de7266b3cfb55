import { describe, expect, it } from 'vitest';
import { hashDefinition } from '../../src/model/definition.js';
import { workflowStepSchema } from '../../src/model/workflow.js';
import { fastStep } from '../../src/workflows/fastStep.js';

/** What the schema path returns, or null when it refuses the step. */
function schema(rs: unknown): unknown {
  const r = workflowStepSchema.safeParse(rs);
  return r.success ? r.data : null;
}

describe('fastStep', () => {
  const plain: unknown[] = [
    { name: 'a', module: 'core', action: 'noop' },
    { action: 'noop', dependencies: ['x', 'y'], module: 'core', name: 'b' },
    { name: 'c', module: 'core', action: 'echo', parameters: { text: '{{a.output}}', nested: { n: 1 } } },
    { name: 'd', module: 'core', action: 'echo', parameters: {}, dependencies: [] },
    Object.assign(Object.create(null) as object, { name: 'e', module: 'core', action: 'noop' }),
  ];

  it('returns what the step schema returns for plain steps: the same values, keys in the same order, fresh objects', () => {
    for (const rs of plain) {
      const fast = fastStep(rs);
      expect(fast).not.toBeNull();
      expect(fast).toStrictEqual(schema(rs));
      expect(Object.keys(fast ?? {})).toEqual(Object.keys(schema(rs) ?? {}));
      const given = rs as { dependencies?: unknown; parameters?: unknown };
      if (given.dependencies !== undefined) expect(fast?.dependencies).not.toBe(given.dependencies);
      if (given.parameters !== undefined) expect(fast?.parameters).not.toBe(given.parameters);
    }
  });

  it('leaves to the schema every step it does not handle or the schema refuses', () => {
    const others: unknown[] = [
      null,
      [],
      'a',
      { name: 'a', module: 'core', action: 'noop', maxRetries: 2 },
      { name: 'a', module: 'core', action: 'noop', dependencies: undefined },
      { name: 'a', workflow: 'child' },
      { name: '1a', module: 'core', action: 'noop' },
      { name: 'constructor', module: 'core', action: 'noop' },
      { name: 'x'.repeat(500), module: 'core', action: 'noop' },
      { name: 'a', module: 'co.re', action: 'noop' },
      { name: 'a', module: 'core' },
      { name: 'a', module: 'core', action: 'noop', dependencies: ['x', 1] },
      { name: 'a', module: 'core', action: 'noop', dependencies: 'x' },
      { name: 'a', module: 'core', action: 'noop', parameters: [] },
      { name: 'a', module: 'core', action: 'noop', parameters: JSON.parse('{"__proto__": {"x": 1}}') as unknown },
      new (class Step {
        name = 'a';
        module = 'core';
        action = 'noop';
      })(),
    ];
    for (const rs of others) expect(fastStep(rs)).toBeNull();
  });
});

describe('hashDefinition', () => {
  it('hashes as it always has (a stored workflow keeps its version): key order, nesting, escapes and undefined', () => {
    const def = {
      name: 'pinned',
      steps: [
        {
          name: 'a',
          module: 'core',
          action: 'echo',
          parameters: { z: 1, a: [1, { y: 'é', b: null, u: undefined }], 'k"q': 'x' },
          retry: { maxDelay: 5, initialDelay: 1 },
        },
        { name: 'b', module: 'core', action: 'noop', dependencies: ['a'], when: '{{a.output}}' },
      ],
      parallelGroups: [['a', 'b']],
      params: { Z: 1, _a: 2, aa: 3 },
      concurrency: undefined,
      debounce: undefined,
    };
    // The value the previous encoder (entries, filter, sort, map) gave for this definition.
    expect(hashDefinition(def)).toBe('d257195f301e5336');
  });
});
