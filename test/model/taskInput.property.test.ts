/**
 * The fast path of task validation (no zod, for the hot path) must answer exactly as the schema does: when it
 * accepts an input, the schema accepts it and builds the same spec; when the schema refuses, the fast path hands
 * the input over (returns null) so the schema's error is the one the caller sees.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { fastTaskSpec, parseTaskInputWithSchema } from '../../src/model/taskInput.js';

const ident = fc.stringMatching(/^[A-Za-z_][\w-]{0,12}$/);
const anyish = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.integer(), { maxLength: 2 }),
);
const params = fc.oneof(
  fc.dictionary(ident, fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null)), {
    maxKeys: 5,
  }),
  fc.dictionary(ident, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  anyish,
);

/** Mostly a well-formed value, sometimes a hostile one: both paths are exercised. */
const mostly = <A, B>(good: fc.Arbitrary<A>, bad: fc.Arbitrary<B>): fc.Arbitrary<A | B | undefined> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: good },
    { weight: 1, arbitrary: bad },
  );

const taskLike = fc.record({
  id: mostly(fc.stringMatching(/^[a-z0-9-]{1,12}$/), fc.oneof(fc.constant(''), fc.integer())),
  name: mostly(fc.string({ minLength: 1, maxLength: 10 }), fc.constant('')),
  module: mostly(ident, fc.oneof(fc.constant('1bad'), fc.integer())),
  action: mostly(ident, fc.constant('bad action')),
  parameters: mostly(
    fc.dictionary(ident, fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null)), {
      maxKeys: 5,
    }),
    params,
  ),
  priority: mostly(
    fc.constantFrom('critical', 'high', 'normal', 'low', 'background'),
    fc.oneof(fc.constant('urgent'), fc.integer()),
  ),
  dependencies: mostly(
    fc.uniqueArray(fc.stringMatching(/^[a-z]{1,4}$/), { maxLength: 3 }),
    fc.oneof(fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), { maxLength: 3 }), anyish),
  ),
  resources: mostly(
    fc.constant({}),
    fc.oneof(fc.constant({ cpu: { cores: 1 } }), fc.constant({ cpu: { cores: -1 } }), anyish),
  ),
  timeout: mostly(
    fc.double({ min: 0.001, max: 100, noNaN: true }),
    fc.oneof(fc.double({ min: -5, max: 0 }), fc.constant(Infinity), fc.constant(Number.NaN), fc.string()),
  ),
  maxRetries: mostly(
    fc.integer({ min: 0, max: 1000 }),
    fc.oneof(fc.integer({ min: -2, max: -1 }), fc.constant(1001), fc.double({ min: 0.1, max: 0.9 })),
  ),
  retry: mostly(
    fc.constant({ initialDelay: 1, factor: 2, maxDelay: 60, jitter: 0.1 }),
    fc.oneof(fc.constant({ initialDelay: 5 }), fc.constant({ initialDelay: Infinity }), anyish),
  ),
  idempotencyKey: mostly(
    fc.string({ maxLength: 10 }),
    fc.oneof(fc.string({ minLength: 499, maxLength: 502 }), fc.integer()),
  ),
  metadata: mostly(fc.dictionary(ident, fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { maxKeys: 3 }), params),
  sessionId: mostly(fc.stringMatching(/^[a-z0-9]{1,6}$/), fc.oneof(fc.constant(''), fc.integer())),
  extra: fc.oneof({ weight: 20, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.string() }),
});

function schemaAnswer(input: unknown): { ok: true; spec: unknown } | { ok: false } {
  try {
    return { ok: true, spec: parseTaskInputWithSchema(input) };
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return { ok: false };
  }
}

describe('task input: the fast path and the schema', () => {
  it('agree on every input: same spec when the fast path accepts, hand-over when the schema refuses', () => {
    let fastAccepted = 0;
    fc.assert(
      fc.property(taskLike, (raw) => {
        const input: Record<string, unknown> = Object.fromEntries(
          Object.entries(raw).filter(([, v]) => v !== undefined),
        );
        // A given id makes both specs comparable field by field; without one, each path draws a fresh uuid.
        if (input['id'] === undefined) input['id'] = 'fixed-id';
        const fast = fastTaskSpec(input);
        const schema = schemaAnswer(input);
        if (fast === null) return;
        fastAccepted++;
        expect(schema.ok).toBe(true);
        if (schema.ok) expect(JSON.parse(JSON.stringify(fast))).toEqual(JSON.parse(JSON.stringify(schema.spec)));
      }),
      { numRuns: 3000 },
    );
    // The generator reaches the fast path often enough for the property to mean something.
    expect(fastAccepted).toBeGreaterThan(50);
  });
});
