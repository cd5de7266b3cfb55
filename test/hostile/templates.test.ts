/**
 * Issue 16 item 1: template scanning and `when` conditions are linear, and parameters and conditions have
 * documented size limits, refused with the field and the limit named.
 */
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/model/limits.js';
import { ModuleRegistry } from '../../src/modules/registry.js';
import { validateWorkflow } from '../../src/workflows/validate.js';
import { growth } from './support.js';

const registry = new ModuleRegistry();
const oneStep = (step: Record<string, unknown>) => ({
  name: 'w',
  steps: [
    { name: 'a', module: 'core', action: 'echo' },
    { module: 'core', action: 'echo', dependencies: ['a'], ...step, name: 'b' },
  ],
});
const validate = (def: unknown) => validateWorkflow(def, registry);

describe('template scanning', () => {
  it('validates "{{" + spaces + "x" in time linear in its length (it was cubic: 56 s at 5 KB)', () => {
    const make = (n: number) => oneStep({ parameters: { text: `{{${' '.repeat(n)}x` } });
    expect(validate(make(5000)).valid).toBe(true); // not a template: no closing braces
    const ratio = growth(make, validate, 100_000, 800_000);
    expect(ratio).toBeLessThan(24); // linear: ~8; quadratic: ~64
  });

  it('validates a "{{{{{{..." run and many unclosed templates linearly', () => {
    const braces = (n: number) => oneStep({ parameters: { text: '{'.repeat(n) } });
    expect(growth(braces, validate, 100_000, 800_000)).toBeLessThan(24);
    const unclosed = (n: number) => oneStep({ parameters: { text: '{{ a.output '.repeat(n / 12) } });
    expect(growth(unclosed, validate, 100_000, 800_000)).toBeLessThan(24);
  });

  it('parses `when` conditions linearly (80 KB took 6 s), and refuses one past maxConditionLength', () => {
    const make = (n: number) => oneStep({ when: `{{a.output}} == 1${' '.repeat(n)}x` });
    // Past the limit: refused at once, naming the field and the limit.
    const long = validate(make(LIMITS.maxConditionLength));
    expect(long.errors.join('\n')).toMatch(
      /step "b"\.when: must be at most 4096 characters \(limit maxConditionLength\)/,
    );
    // Within it: parsed by the condition parser itself, linearly.
    const ratio = growth(make, (d) => validate(d), 400, 3200);
    expect(ratio).toBeLessThan(24);
    expect(validate(make(400)).errors.join('\n')).toMatch(/bad condition/);
  });

  it('refuses a templated string past maxTemplatedStringLength and a template past maxTemplateLength', () => {
    const big = validate(
      oneStep({ parameters: { deep: { text: `{{a.output}}${'x'.repeat(LIMITS.maxTemplatedStringLength)}` } } }),
    );
    expect(big.errors.join('\n')).toMatch(
      /step "b"\.parameters\.deep\.text: a string holding a \{\{template\}\} is at most 1000000 characters \(limit maxTemplatedStringLength/,
    );
    const wide = validate(oneStep({ parameters: { t: `{{a.output.${'f'.repeat(LIMITS.maxTemplateLength)}}}` } }));
    expect(wide.errors.join('\n')).toMatch(
      /parameters\.t: a \{\{template\}\} is at most 1024 characters between the braces \(limit maxTemplateLength/,
    );
    // A long plain string (no template) is data, bounded only by maxStringLength.
    expect(validate(oneStep({ parameters: { text: 'x'.repeat(LIMITS.maxTemplatedStringLength + 1) } })).valid).toBe(
      true,
    );
  });

  it('still resolves what it did: whole templates keep their type, braces around templates stay text', () => {
    const v = validate(
      oneStep({ parameters: { a: '{{ a.output }}', b: '{{{a.output}}}', c: 'x {{a.output.n}} y {{ {{a.output}}' } }),
    );
    expect(v.errors).toEqual([]);
  });
});
