/**
 * Issue 16 item 11: a definition that can never run is refused when it is validated, for the same reasons its
 * steps' tasks would be refused when submitted (one schema for the fields they share).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { LIMITS } from '../../src/model/limits.js';
import { parseTaskInput } from '../../src/model/taskInput.js';
import { testEngine } from '../helpers.js';

const engine = testEngine({ threads: 1 });
afterAll(() => engine.shutdown());

const cases: [string, Record<string, unknown>, RegExp][] = [
  [
    'retry.initialDelay: Infinity',
    { retry: { initialDelay: Infinity } },
    /retry\.initialDelay: must be a finite number/,
  ],
  [
    'maxDelay below initialDelay',
    { retry: { initialDelay: 10, maxDelay: 5 } },
    /retry\.maxDelay: must be at least retry\.initialDelay \(10 s/,
  ],
  ['initialDelay above the default maxDelay', { retry: { initialDelay: 100 } }, /maxDelay is 60 s, the default/],
  [
    'an idempotencyKey over the limit',
    { idempotencyKey: 'k'.repeat(LIMITS.maxIdempotencyKeyLength + 1) },
    /idempotencyKey: must be at most 500 characters \(limit maxIdempotencyKeyLength\)/,
  ],
  [
    'a resource amount of Infinity',
    { resources: { cpu: { cores: Infinity } } },
    /resources\.cpu\.cores: must be a finite amount/,
  ],
];

describe('definitions that can never run', () => {
  for (const [what, fields, message] of cases) {
    it(`refuses ${what} at validation, as a task would be refused`, async () => {
      const def = { name: 'never', steps: [{ name: 'a', module: 'core', action: 'echo', ...fields }] };
      const v = await engine.workflows.validateWorkflow(def);
      expect(v.valid).toBe(false);
      expect(v.errors.join('\n')).toMatch(message);
      await expect(engine.workflows.defineWorkflow(def)).rejects.toBeInstanceOf(ValidationError);
      // The same fields on a task: refused with the same reason.
      expect(() => parseTaskInput({ module: 'core', action: 'echo', ...fields })).toThrow(message);
    });
  }

  it('refuses a step name whose task id would pass the id limit, and runs one at the limit', async () => {
    const longest = 'a'.repeat(LIMITS.maxStepNameLength);
    const v = await engine.workflows.validateWorkflow({
      name: 'names',
      steps: [{ name: `${longest}b`, module: 'core', action: 'echo' }],
    });
    expect(v.errors.join('\n')).toMatch(/\.name: must be at most 163 characters \(limit maxStepNameLength/);
    const run = await engine.executeComplexWorkflow({ steps: [{ name: longest, module: 'core', action: 'echo' }] });
    expect(run.steps[longest]?.status).toBe('completed');
  });

  it('refuses an unknown resource at validation (the engine knows its resources), and accepts a known one', async () => {
    const def = (resources: unknown) => ({
      name: 'res',
      steps: [{ name: 'a', module: 'core', action: 'echo', resources }],
    });
    const unknown = await engine.workflows.validateWorkflow(def({ gpu9: { units: 1 } }));
    expect(unknown.errors.join('\n')).toMatch(/step "a"\.resources\.gpu9: unknown resource/);
    const badUnit = await engine.workflows.validateWorkflow(def({ cpu: { gb: 1 } }));
    expect(badUnit.errors.join('\n')).toMatch(/resources\.cpu\.gb: "cpu" is measured in cores/);
    const known = await engine.workflows.validateWorkflow(def({ cpu: { cores: 1 } }));
    expect(known).toMatchObject({ valid: true, errors: [] });
    const run = await engine.executeComplexWorkflow({
      steps: [{ name: 'a', module: 'core', action: 'echo', resources: { cpu: { cores: 1 } } }],
    });
    expect(run.status).toBe('succeeded');
  });
});
