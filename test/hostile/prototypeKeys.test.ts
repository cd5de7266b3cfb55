/**
 * Issue 16 item 13: keys named like Object.prototype's members. `__proto__`, `constructor` and `prototype` are
 * refused as step names with a clear error; other such names (`toString`, `valueOf`) are names like any other; a
 * `__proto__` key is reported as itself (not "[object Object]") and is refused in task input, never dropped.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { ModuleRegistry } from '../../src/modules/registry.js';
import { resolveTemplates } from '../../src/workflows/template.js';
import { validateWorkflow } from '../../src/workflows/validate.js';
import { testEngine } from '../helpers.js';

const engine = testEngine({ threads: 1 });
afterAll(() => engine.shutdown());
const registry = new ModuleRegistry();

describe('prototype-named keys', () => {
  for (const name of ['__proto__', 'constructor', 'prototype']) {
    it(`refuses a step named ${name} with a clear error (a step named __proto__ used to vanish from the run)`, async () => {
      const step = JSON.parse(`{"name": "${name}", "module": "core", "action": "echo"}`) as Record<string, unknown>;
      const v = validateWorkflow(
        { name: 'w', steps: [step, { name: 'after', module: 'core', action: 'echo', dependencies: [name] }] },
        registry,
      );
      expect(v.errors).toContain(
        `workflow "w": step "${name}".name: "${name}" is reserved (__proto__, constructor, prototype cannot be step names); rename the step`,
      );
      await expect(engine.executeComplexWorkflow({ steps: [step] })).rejects.toThrow(/is reserved/);
    });
  }

  it('runs complex workflows whose steps are named toString and valueOf, with a dependency map', async () => {
    const result = await engine.executeComplexWorkflow({
      steps: [
        { name: 'toString', module: 'core', action: 'echo', parameters: { value: 1 } },
        { name: 'valueOf', module: 'core', action: 'echo', parameters: { value: '{{toString.output}}' } },
        { name: 'hasOwnProperty', module: 'core', action: 'echo', parameters: { value: '{{valueOf.output}}' } },
      ],
      dependencies: { valueOf: ['toString'], hasOwnProperty: ['valueOf'] },
    });
    expect(result.status).toBe('succeeded');
    expect(Object.keys(result.steps)).toEqual(['toString', 'valueOf', 'hasOwnProperty']);
    expect(result.steps['hasOwnProperty']?.result).toBe(1);
  });

  it('a template naming a step that has no result yet is refused, even if Object.prototype has that name', () => {
    expect(() => resolveTemplates('{{toString.output}}', { params: {}, steps: {} })).toThrow(
      'step "toString" has no result yet',
    );
  });

  it('names a __proto__ key of a definition as itself, not "[object Object]"', () => {
    const def = JSON.parse(
      '{"name": "w", "__proto__": {"x": 1}, "steps": [{"name": "a", "module": "core", "action": "echo", "__proto__": {}}]}',
    ) as unknown;
    const v = validateWorkflow(def, registry);
    expect(v.errors.join('\n')).not.toContain('[object Object]');
    expect(v.errors).toContain('workflow "w": unknown field(s) "__proto__"; remove or rename them');
    expect(v.errors).toContain('workflow "w": step "a": unknown field(s) "__proto__"; remove or rename them');
  });

  it('refuses a __proto__ key in task parameters and metadata instead of dropping it', async () => {
    for (const parameters of [
      JSON.parse('{"__proto__": {"x": 1}, "value": 2}'),
      JSON.parse('{"value": {"deep": [{"__proto__": 1}]}}'),
    ] as Record<string, unknown>[]) {
      const err = await engine.tasks
        .executeTask({ module: 'core', action: 'echo', parameters })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(
        /task\.parameters(\.value\.deep\[0\])?: a key named "__proto__" is refused/,
      );
    }
    const meta = await engine.tasks
      .executeTask({
        module: 'core',
        action: 'echo',
        metadata: JSON.parse('{"__proto__": {}}') as Record<string, unknown>,
      })
      .catch((e: unknown) => e);
    expect((meta as Error).message).toMatch(/task\.metadata: a key named "__proto__" is refused/);
    // And in a definition's step parameters and run params.
    const v = validateWorkflow(
      JSON.parse(
        '{"name": "w", "params": {"__proto__": 1}, "steps": [{"name": "a", "module": "core", "action": "echo", "parameters": {"v": {"__proto__": {"polluted": true}}}}]}',
      ),
      registry,
    );
    expect(v.errors).toEqual([
      'workflow "w": step "a".parameters.v: a key named "__proto__" is refused (it would be dropped or become a prototype); rename it',
      'workflow "w".params: a key named "__proto__" is refused (it would be dropped or become a prototype); rename it',
    ]);
  });

  it('keeps ordinary keys named like prototype members in parameters', async () => {
    const r = await engine.tasks.executeTask({
      module: 'core',
      action: 'echo',
      parameters: { constructor: 1, toString: 'x', hasOwnProperty: true },
    });
    expect(r.result).toEqual({ constructor: 1, toString: 'x', hasOwnProperty: true });
  });
});
