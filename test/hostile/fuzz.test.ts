/**
 * Issue 16 "also deliver": fuzzing of workflow definitions and task inputs. Validation never throws anything but
 * a `ValidationError`, answers within a bound proportional to the input's size, and a definition it accepts can be
 * submitted: run on an engine (memory store), no step is refused at submission.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { parseTaskInput } from '../../src/model/taskInput.js';
import { ModuleRegistry } from '../../src/modules/registry.js';
import { scanTemplates } from '../../src/workflows/template.js';
import { assertValidWorkflow, validateWorkflow } from '../../src/workflows/validate.js';
import { testEngine } from '../helpers.js';
import { fastest } from './support.js';

const registry = new ModuleRegistry();
const engine = testEngine({ threads: 1 });
afterAll(() => engine.shutdown());

/** Strings a hostile user would try: template fragments, pumped whitespace and braces, prototype names. */
const hostileText = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom(
    '{{',
    '}}',
    '{{ a.output }}',
    '{{params.x}}',
    '{{b.output.items[0].name}}',
    "{{a.output['k']}}",
    '{{a.error}}',
    '{{ toString.output }}',
    '{{__proto__.output}}',
    '{',
    '}',
    '..',
    '[0]',
  ),
  fc
    .tuple(
      fc.constantFrom('{{', '{', '}}', ' ', '{{ a', 'a.output'),
      fc.nat({ max: 2000 }),
      fc.constantFrom('x', '}}', '', '}', ' }}'),
    )
    .map(([a, n, b]) => `${a}${' '.repeat(n)}${b}`),
  fc
    .array(fc.constantFrom('{{', '}}', '{', '}', ' ', 'a', '.', 'output', '[1]', 'params', "'"), { maxLength: 60 })
    .map((xs) => xs.join('')),
);
const stepName = fc.oneof(
  fc.constantFrom('a', 'b', 'c', 'd', 'e'),
  fc.constantFrom('toString', 'valueOf', 'constructor', '__proto__', 'prototype', 'hasOwnProperty', '1bad', 'x y', ''),
  fc.nat({ max: 200 }).map((n) => `s${'x'.repeat(n)}`),
);
const number = fc.oneof(
  fc.double(),
  fc.integer({ min: -5, max: 1000 }),
  fc.constantFrom(Infinity, -Infinity, NaN, 0, 1e300, 0.001),
);
const jsonish: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    hostileText,
    number,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', 'toString')),
      tie('value'),
      { maxKeys: 4 },
    ),
  ),
})).value;
/** Objects built the way JSON.parse builds them: a `__proto__` key stays an own key. */
const own = (entries: [string, unknown][]): Record<string, unknown> => Object.fromEntries(entries);
const record = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom('value', 'text', 'n', 'items', '__proto__', 'constructor'), fc.string({ maxLength: 5 })),
      jsonish,
    ),
    { maxLength: 4 },
  )
  .map(own);

const condition = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('', '!', ' ! '),
      fc.constantFrom('{{a.output}}', '{{b.output.n}}', '{{params.x}}', '{{ a.status }}', '{{a.output'),
      fc.constantFrom('', ' == 1', ' > 2', ' != "x"', ' <= null', ' == [1,', ' >= ', ' =~ 3'),
      fc.nat({ max: 3000 }),
    )
    .map(([b, t, o, n]) => `${b}${t}${o}${' '.repeat(n)}`),
  hostileText,
);

const step = fc.record(
  {
    name: stepName,
    module: fc.constantFrom('core', 'core', 'core', 'nope', '__proto__'),
    action: fc.constantFrom('echo', 'echo', 'echo', 'noop', 'missing'),
    parameters: record,
    dependencies: fc.array(stepName, { maxLength: 3 }),
    depends_on: fc.array(stepName, { maxLength: 2 }),
    timeout: fc.oneof(fc.constantFrom(30, 5), number),
    maxRetries: fc.oneof(fc.constantFrom(0, 1), number),
    retry: fc.record({ initialDelay: number, factor: number, maxDelay: number, jitter: number }, { requiredKeys: [] }),
    priority: fc.constantFrom('high', 'low', 'urgent'),
    resources: fc.constantFrom({ cpu: { cores: 1 } }, { gpu9: { units: 1 } }, { cpu: { gb: 1 } }, {}),
    continueOnFailure: fc.boolean(),
    when: condition,
    idempotencyKey: fc.nat({ max: 600 }).map((n) => 'k'.repeat(n)),
    metadata: record,
    extra: jsonish,
  },
  { requiredKeys: ['name', 'module', 'action'] },
);

/**
 * Definitions close to valid: unique names, dependencies on earlier steps, templates that read them, conditions and
 * retries that mostly make sense. A few fields drift out of range, so both sides of each limit are reached.
 */
const validish = fc.nat({ max: 5 }).chain((extra) =>
  fc
    .tuple(
      ...Array.from({ length: extra + 1 }, (_, i) => {
        const earlier = ['toString', 'valueOf', 's2', 's3', 's4', 's5'].slice(0, i);
        const ref = earlier.length ? fc.constantFrom(...earlier) : fc.constant(null);
        return fc.record({
          deps: earlier.length ? fc.subarray(earlier) : fc.constant([] as string[]),
          ref,
          text: fc.oneof(
            fc.constant('plain'),
            fc.nat({ max: 300 }).map((n) => `{{${' '.repeat(n)}x`),
            fc.constant('{ not {{ a template'),
          ),
          when: fc.option(
            fc.constantFrom('{{params.go}}', '!{{params.go}}', '{{params.n}} > 1', '{{ params.n }} == 2   '),
            { nil: undefined },
          ),
          retry: fc.option(
            fc.record({
              initialDelay: fc.constantFrom(0.001, 0.01, 0.01, 100),
              maxDelay: fc.constantFrom(0.01, 0.01, 60, 1e9),
            }),
            { nil: undefined },
          ),
          key: fc.option(fc.constantFrom(10, 163, 500, 501), { nil: undefined }),
          resources: fc.option(
            fc.constantFrom({ cpu: { cores: 1 } }, { cpu: { cores: 0.5 } }, { gpu9: { units: 1 } }),
            { freq: 4, nil: undefined },
          ),
          name: fc.oneof(
            { weight: 12, arbitrary: fc.constant(['toString', 'valueOf', 's2', 's3', 's4', 's5'][i] ?? 'z') },
            { weight: 1, arbitrary: fc.constantFrom('__proto__', 'y'.repeat(164)) },
          ),
        });
      }),
    )
    .map((steps) => ({
      name: 'fuzz',
      params: { go: true, n: 2 },
      steps: steps.map((x) => ({
        name: x.name,
        module: 'core',
        action: 'echo',
        dependencies: x.ref && !x.deps.includes(x.ref) ? [...x.deps, x.ref] : x.deps,
        parameters: { value: x.ref ? `{{${x.ref}.status}}` : 1, text: x.text },
        ...(x.when !== undefined ? { when: x.when } : {}),
        ...(x.retry ? { retry: x.retry, max_retries: 1 } : {}),
        ...(x.key !== undefined ? { idempotency_key: 'k'.repeat(x.key) } : {}),
        ...(x.resources ? { resources: x.resources } : {}),
      })),
    })),
);

const definition = fc.oneof(
  { weight: 3, arbitrary: validish },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        name: fc.constantFrom('fuzz', 'fuzz.v2', '', '__proto__'),
        steps: fc.array(step, { minLength: 1, maxLength: 6 }),
        params: record,
        parallel_groups: fc.array(fc.array(stepName, { maxLength: 3 }), { maxLength: 2 }),
        version: fc.oneof(fc.constant('1'), number),
      },
      { requiredKeys: ['name', 'steps'] },
    ),
  },
  { weight: 1, arbitrary: jsonish },
  { weight: 1, arbitrary: fc.anything() },
);

/** Time bound of one validation: generous in the constant and per character, re-measured before it fails. */
function withinBound(fn: () => unknown, size: number): { ms: number; bound: number } {
  const bound = 50 + size * 0.01;
  const t0 = performance.now();
  fn();
  let ms = performance.now() - t0;
  if (ms > bound) ms = fastest(fn, 3); // a stall of a loaded machine, or the work itself? The fastest run says.
  return { ms, bound };
}

function sizeOf(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 1;
  } catch {
    return 1000;
  }
}

describe('fuzzing validation', () => {
  it('validateWorkflow answers every definition within a size-proportional bound, and throws only ValidationErrors', () => {
    fc.assert(
      fc.property(definition, (def) => {
        const { ms, bound } = withinBound(() => validateWorkflow(def, registry), sizeOf(def));
        expect(ms).toBeLessThan(bound);
        try {
          assertValidWorkflow(def, registry);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
          expect((err as ValidationError).issues.length).toBeGreaterThan(0);
          expect((err as Error).message).not.toContain('[object Object]');
        }
      }),
      { numRuns: 400 },
    );
  });

  it('parseTaskInput throws only ValidationErrors, within the same bound', () => {
    const task = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record(
          {
            module: fc.constantFrom('core', 'x y'),
            action: fc.constantFrom('echo', ''),
            parameters: record,
            metadata: record,
            retry: fc.record({ initialDelay: number, maxDelay: number }, { requiredKeys: [] }),
            idempotencyKey: fc.nat({ max: 600 }).map((n) => 'k'.repeat(n)),
            id: stepName,
            timeout: number,
            dependencies: fc.array(stepName, { maxLength: 3 }),
          },
          { requiredKeys: ['module', 'action'] },
        ),
      },
      { weight: 1, arbitrary: fc.anything() },
    );
    fc.assert(
      fc.property(task, (input) => {
        const { ms, bound } = withinBound(() => {
          try {
            parseTaskInput(input);
          } catch (err) {
            if (!(err instanceof ValidationError)) throw err;
          }
        }, sizeOf(input));
        expect(ms).toBeLessThan(bound);
      }),
      { numRuns: 400 },
    );
  });

  it('a definition the engine accepts can be submitted: no step is refused when its task is added', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 4, arbitrary: validish }, { weight: 1, arbitrary: definition }),
        async (def) => {
          const v = await engine.workflows.validateWorkflow(def as Record<string, unknown>);
          if (!v.valid) return;
          accepted++;
          const result = await engine.executeComplexWorkflow(def as Record<string, unknown>);
          for (const [name, r] of Object.entries(result.steps)) {
            expect(r.error?.message ?? '', `step ${name}`).not.toMatch(/could not be submitted/);
            expect(['ValidationError', 'NotFoundError', 'CycleError']).not.toContain(r.error?.name);
          }
        },
      ),
      { numRuns: 150 },
    );
    expect(accepted).toBeGreaterThan(10); // the generator reaches valid definitions, not only refusals
  });
});

describe('scanTemplates', () => {
  it('finds exactly what the old regular expression found, on short strings', () => {
    const OLD = /\{\{\s*([^{}]*?)\s*\}\}/g;
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('{', '}', ' ', 'a', '.', '\n'), { maxLength: 40 }).map((x) => x.join('')),
        (s) => {
          const old = [...s.matchAll(OLD)].map((m) => [m.index, m.index + m[0].length, m[1]]);
          expect(scanTemplates(s).map((m) => [m.start, m.end, m.expr])).toEqual(old);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
