import { describe, expect, it } from 'vitest';
import { ModuleRegistry } from '../../src/modules/registry.js';
import { validateWorkflow } from '../../src/workflows/validate.js';

const registry = new ModuleRegistry();

describe('validateWorkflow', () => {
  it('accepts the seed example with snake_case keys and hashes it stably', () => {
    const def = {
      name: 'ai_analysis',
      steps: [
        { name: 'analyze_code', module: 'core', action: 'echo', parameters: { path: '.' }, max_retries: 2 },
        {
          name: 'generate_insights',
          module: 'core',
          action: 'echo',
          parameters: { analysis_data: '{{analyze_code.output}}' },
          dependencies: ['analyze_code'],
        },
      ],
    };
    const v = validateWorkflow(def, registry);
    expect(v.errors).toEqual([]);
    expect(v.workflow?.steps[0]?.maxRetries).toBe(2);
    const reordered = { steps: def.steps.map((s) => ({ ...s })), name: 'ai_analysis' };
    expect(validateWorkflow(reordered, registry).workflow?.hash).toBe(v.workflow?.hash);
  });

  it('lists every problem at once, each naming the step and the fix', () => {
    const v = validateWorkflow(
      {
        name: 'etl',
        steps: [
          { name: 'extract', module: 'core', action: 'noop' },
          { name: 'load', module: 'core', action: 'echo', dependencies: ['extrac'] },
          { name: 'load', module: 'core', action: 'noop' },
          { name: 'a', module: 'core', action: 'noop', dependencies: ['b'] },
          { name: 'b', module: 'core', action: 'noop', dependencies: ['a'] },
          { name: 'c', module: 'core', action: 'slep', parameters: {} },
          { name: 'd', module: 'core', action: 'sleep', parameters: { ms: 'soon' }, timeout: -1, max_retries: 1.5 },
          {
            name: 'e',
            module: 'core',
            action: 'echo',
            parameters: { x: '{{extract.output}}', y: '{{ghost.output}}', z: '{{extract.outputs}}' },
          },
          { name: 'f', module: 'core', action: 'noop', when: 'always' },
        ],
      },
      registry,
    );
    expect(v.valid).toBe(false);
    expect(v.errors).toEqual(
      expect.arrayContaining([
        'workflow "etl": step "load" depends on unknown step "extrac" (did you mean "extract"?)',
        'workflow "etl": step name "load" is used twice; step names must be unique',
        'workflow "etl": dependency cycle: a -> b -> a',
        'workflow "etl": step "c": unknown action "core.slep" (did you mean "core.sleep"?)',
        'workflow "etl": step "d".parameters.ms: Expected number, received string',
        'workflow "etl": step "d".timeout: must be a positive number of seconds',
        'workflow "etl": step "d".maxRetries: must be a whole number',
        'workflow "etl": step "e" parameters references step "extract" in {{extract.output}}, which is not upstream of it; add "extract" to its dependencies',
        expect.stringMatching(/step "e" parameters references unknown step "ghost"/) as string,
        expect.stringMatching(
          /\{\{extract\.outputs\}\} must read extract\.output, extract\.error, extract\.status/,
        ) as string,
        expect.stringMatching(/step "f"\.when: bad condition "always"/) as string,
      ]),
    );
  });

  it('accepts a template standing where the schema wants another type, and checks the rest', () => {
    const v = validateWorkflow(
      {
        name: 'typed',
        steps: [
          { name: 'a', module: 'core', action: 'echo', parameters: { value: 5 } },
          { name: 'b', module: 'core', action: 'sleep', parameters: { ms: '{{a.output}}' }, dependencies: ['a'] },
          {
            name: 'c',
            module: 'core',
            action: 'sleep',
            parameters: { ms: '{{a.output}}', extra: 1 },
            dependencies: ['b'],
          },
        ],
      },
      registry,
    );
    expect(v.errors).toEqual([expect.stringMatching(/step "c".parameters: unknown field\(s\) "extra"/)]);
  });

  it('accepts templates reaching a transitive upstream step', () => {
    const v = validateWorkflow(
      {
        name: 'chain',
        steps: [
          { name: 'a', module: 'core', action: 'noop' },
          { name: 'b', module: 'core', action: 'noop', dependencies: ['a'] },
          { name: 'c', module: 'core', action: 'echo', parameters: { v: '{{a.output}}' }, dependencies: ['b'] },
        ],
      },
      registry,
    );
    expect(v.errors).toEqual([]);
  });

  it('warns about parallel groups whose members depend on each other, and refuses unknown members', () => {
    const v = validateWorkflow(
      {
        name: 'groups',
        parallel_groups: [['a', 'b'], ['zz']],
        steps: [
          { name: 'a', module: 'core', action: 'noop' },
          { name: 'b', module: 'core', action: 'noop', dependencies: ['a'] },
        ],
      },
      registry,
    );
    expect(v.errors).toEqual(['workflow "groups": parallelGroups[1] names unknown step "zz"']);
    expect(v.warnings).toEqual([
      expect.stringMatching(/parallelGroups\[0\] holds "b" and "a", but "b" depends on "a"/),
    ]);
  });

  it('refuses huge or deeply nested parameters with the limit named', () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 40; i++) deep = deep['x'] = {};
    const v = validateWorkflow(
      { name: 'deep', steps: [{ name: 'a', module: 'core', action: 'echo', parameters: root }] },
      registry,
    );
    expect(v.errors).toEqual([expect.stringMatching(/nested deeper than 32 levels \(limit maxDepth\)/)]);
    const wide = { items: Array.from({ length: 200_000 }, (_, i) => i) };
    const w = validateWorkflow(
      { name: 'wide', steps: [{ name: 'a', module: 'core', action: 'echo', parameters: wide }] },
      registry,
    );
    expect(w.errors).toEqual([expect.stringMatching(/more than 100000 values \(limit maxNodes\)/)]);
  });

  it('refuses a definition that is not a workflow at all', () => {
    expect(validateWorkflow({ name: 'x', steps: [] }, registry).errors).toEqual([
      'workflow "x".steps: a workflow needs at least one step',
    ]);
    expect(validateWorkflow(null, registry).valid).toBe(false);
  });

  it("stores a workflow's affinity: run on its steps, but those that say none; refuses other values naming the field", () => {
    const v = validateWorkflow(
      {
        name: 'sticky',
        affinity: 'run',
        steps: [
          { name: 'a', module: 'core', action: 'echo' },
          { name: 'b', module: 'core', action: 'echo', affinity: 'none', dependencies: ['a'] },
        ],
      },
      registry,
    );
    expect(v.errors).toEqual([]);
    expect(v.workflow?.steps.map((s) => s.affinity)).toEqual(['run', undefined]);
    const one = validateWorkflow(
      {
        name: 'one',
        steps: [
          { name: 'a', module: 'core', action: 'echo', affinity: 'run' },
          { name: 'b', module: 'core', action: 'echo' },
        ],
      },
      registry,
    );
    expect(one.workflow?.steps.map((s) => s.affinity)).toEqual(['run', undefined]);
    const bad = validateWorkflow(
      { name: 'bad', affinity: 'host', steps: [{ name: 'a', module: 'core', action: 'echo' }] },
      registry,
    );
    expect(bad.valid).toBe(false);
    expect(bad.errors.join('\n')).toContain('affinity');
  });
});
