import { describe, expect, it } from 'vitest';
import type { TemplateScope } from '../../src/workflows/template.js';
import { evaluateCondition, findTemplates, parseRef, resolveTemplates } from '../../src/workflows/template.js';

const scope: TemplateScope = {
  params: { path: '/src', depth: 3 },
  steps: {
    analyze: {
      output: {
        files: [
          { path: 'a.ts', lines: 10 },
          { path: 'b.ts', lines: 0 },
        ],
        count: 2,
        ok: true,
      },
      error: null,
      status: 'completed',
    },
    broken: { output: null, error: { code: 'ACTION_FAILED', message: 'boom' }, status: 'failed' },
  },
};

describe('templates', () => {
  it('parses paths with fields, indexes and quoted keys', () => {
    expect(parseRef('analyze.output.files[0].path')).toEqual({
      raw: 'analyze.output.files[0].path',
      root: 'analyze',
      path: ['output', 'files', 0, 'path'],
    });
    expect(parseRef("a.output['odd key']").path).toEqual(['output', 'odd key']);
    expect(() => parseRef('a..b')).toThrow(/bad template/);
    expect(() => parseRef('a.output files')).toThrow(/bad template/);
  });

  it('keeps the type of a whole-string template and interpolates embedded ones as text', () => {
    const out = resolveTemplates(
      {
        data: '{{analyze.output}}',
        count: '{{ analyze.output.count }}',
        first: '{{analyze.output.files[0]}}',
        text: 'found {{analyze.output.count}} files in {{params.path}}: {{analyze.output.files[1]}}',
        list: ['{{params.depth}}', 'plain'],
        untouched: 7,
      },
      scope,
    );
    expect(out).toEqual({
      data: scope.steps['analyze']!.output,
      count: 2,
      first: { path: 'a.ts', lines: 10 },
      text: 'found 2 files in /src: {"path":"b.ts","lines":0}',
      list: [3, 'plain'],
      untouched: 7,
    });
  });

  it('names where a path breaks', () => {
    expect(() => resolveTemplates('{{analyze.output.files[5].path}}', scope)).toThrow(
      'analyze.output.files is an array of 2, with no item [5]',
    );
    expect(() => resolveTemplates('{{analyze.output.missing}}', scope)).toThrow(
      'analyze.output is object, with no field "missing"',
    );
    expect(() => resolveTemplates('{{params.nope}}', scope)).toThrow(/no field "nope"/);
    expect(() => resolveTemplates('{{later.output}}', scope)).toThrow('step "later" has no result yet');
  });

  it('reads the error and status of a failed step', () => {
    expect(resolveTemplates({ e: '{{broken.error.message}}', s: '{{broken.status}}' }, scope)).toEqual({
      e: 'boom',
      s: 'failed',
    });
  });

  it('finds templated strings with their locations', () => {
    const sites = findTemplates({ a: 'x', b: ['{{s.output}}', { c: 'pre {{params.p}} {{t.output.x}}' }] });
    expect(sites.map((s) => [s.location, s.refs.map((r) => r.root)])).toEqual([
      [['b', 0], ['s']],
      [
        ['b', 1, 'c'],
        ['params', 't'],
      ],
    ]);
  });

  it('evaluates conditions: truthiness, comparisons, negation', () => {
    expect(evaluateCondition('{{analyze.output.ok}}', scope)).toBe(true);
    expect(evaluateCondition('!{{analyze.output.ok}}', scope)).toBe(false);
    expect(evaluateCondition('{{analyze.output.count}} > 1', scope)).toBe(true);
    expect(evaluateCondition('{{analyze.output.count}} == 3', scope)).toBe(false);
    expect(evaluateCondition('{{broken.status}} == "failed"', scope)).toBe(true);
    expect(evaluateCondition('{{analyze.output.files[1].lines}}', scope)).toBe(false);
    expect(() => evaluateCondition('{{a.output}} > banana', scope)).toThrow(/must be JSON/);
    expect(() => evaluateCondition('count > 3', scope)).toThrow(/bad condition/);
  });
});
