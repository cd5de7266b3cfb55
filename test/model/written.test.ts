/**
 * A result's `written` list: checked where the action returned it (a bad or huge one is a problem naming the field),
 * read back without ever throwing, and listed by the run summary within its budget.
 */
import { describe, expect, it } from 'vitest';
import { runWritten, summarizeRun, SUMMARY_BUDGET_BYTES } from '../../src/edges/mcp/summary.js';
import { LIMITS } from '../../src/model/limits.js';
import { declaredWritten, inspectResult, writtenProblem } from '../../src/model/results.js';
import type { ItemResult, StepResult, WorkflowResult } from '../../src/model/workflow.js';

const step = (name: string, result: unknown, status: StepResult['status'] = 'completed'): StepResult => ({
  taskId: `run.${name}`,
  name,
  step: name,
  status,
  success: status === 'completed',
  result,
  error: null,
  attempts: 1,
  startedAt: 0,
  endedAt: 1,
  durationMs: 1,
});

const item = (index: number, result: unknown, status: 'completed' | 'failed'): ItemResult => {
  const { step: _step, ...rest } = step(`each.${index}`, result);
  return { ...rest, status, index };
};

const run = (steps: StepResult[]): WorkflowResult => ({
  success: true,
  status: 'succeeded',
  workflowName: 'w',
  runId: 'r1',
  version: '1',
  hash: 'h',
  steps: Object.fromEntries(steps.map((s) => [s.step, s])),
  durationMs: 2,
  warnings: [],
});

describe('writtenProblem', () => {
  it('accepts no declaration and an array of paths', () => {
    for (const ok of [null, 'text', [1, 2], { path: 'src/app' }, { written: [] }, { written: ['a.md', '/abs/b'] }])
      expect(writtenProblem(ok)).toBeNull();
  });

  it('names the field of a declaration that is not an array of paths, or is too long', () => {
    expect(writtenProblem({ written: 'a.md' })).toMatch(/^result\.written: must list .*\(got string\)$/);
    expect(writtenProblem({ written: null })).toMatch(/\(got null\)/);
    expect(writtenProblem({ written: ['a', { path: 'b' }] })).toMatch(
      /^result\.written\[1\]: must be a path .*got object/,
    );
    expect(writtenProblem({ written: [''] })).toMatch(/^result\.written\[0\]: .*got a string of 0/);
    expect(writtenProblem({ written: ['x'.repeat(LIMITS.maxWrittenPathLength + 1)] })).toMatch(/written\[0\]/);
    expect(writtenProblem({ written: ['ok', 'line\nbreak'] })).toMatch(/written\[1\]: .*no control characters/);
    expect(writtenProblem({ written: new Array<string>(LIMITS.maxWrittenFiles + 1).fill('f') })).toMatch(
      /^result\.written: 10001 paths, over maxWrittenFiles 10000/,
    );
  });

  it('is what inspectResult reports, after measuring the whole result', () => {
    const report = inspectResult({ data: 'x'.repeat(1000), written: 5 });
    expect(report.problem).toMatch(/^result\.written: must list/);
    expect(report.bytes).toBeGreaterThan(1000);
    expect(inspectResult({ written: ['a.md'] }).problem).toBeNull();
  });

  it('refuses a sparse list too long to send without walking its items', () => {
    expect(inspectResult({ written: new Array<string>(1e9) }).problem).toMatch(/^result: larger than 16777216 bytes/);
    expect(inspectResult({ written: new Array<string>(LIMITS.maxWrittenFiles + 1) }).problem).toMatch(
      /^result\.written: 10001 paths, over maxWrittenFiles/,
    );
  });
});

describe('declaredWritten', () => {
  it('never throws: it keeps the valid paths of the first maxWrittenFiles entries and ignores the rest', () => {
    for (const bad of [undefined, 42, 'a.md', [], { written: 'a.md' }, { written: { 0: 'a' } }])
      expect(declaredWritten(bad)).toEqual([]);
    expect(declaredWritten({ written: [1, null, 'ok.md', 'a\u001b[2Jb', 'x'.repeat(5000)] })).toEqual(['ok.md']);
    const huge = new Array<string>(10_000_000);
    huge[0] = 'first.md';
    huge[9_999_999] = 'last.md';
    expect(declaredWritten({ written: huge })).toEqual(['first.md']);
  });
});

describe('runWritten and the run summary', () => {
  it('list only declarations of completed steps and forEach items, each once', () => {
    const each: StepResult = {
      ...step('each', [{ written: ['i0.md'] }, null]),
      items: [item(0, { written: ['i0.md'] }, 'completed'), item(1, { written: ['i1.md'] }, 'failed')],
    };
    const r = run([
      step('read', { path: 'src/app', output: 'src/app/x.ts', files: [{ path: 'a.ts', format: 'ts' }] }),
      step('write', { path: 'src/app', written: ['out/a.md', 'out/a.md', 'out/b.md'] }),
      step('failed', { written: ['never.md'] }, 'failed'),
      each,
    ]);
    expect(runWritten(r)).toEqual({ files: ['out/a.md', 'out/b.md', 'i0.md'], more: 0, moreAtLeast: false });
    expect(summarizeRun(r).files).toEqual(['out/a.md', 'out/b.md', 'i0.md']);
  });

  it('counts at most maxWrittenFiles distinct files, saying the count is a lower bound past them', () => {
    const paths = (from: number) => Array.from({ length: LIMITS.maxWrittenFiles }, (_, i) => `f${from + i}`);
    const r = run([step('a', { written: paths(0) }), step('b', { written: paths(5) })]);
    expect(runWritten(r)).toMatchObject({ more: LIMITS.maxWrittenFiles - 20, moreAtLeast: true });
    const within = run([step('a', { written: paths(0) }), step('b', { written: paths(0) })]);
    expect(runWritten(within)).toMatchObject({ more: LIMITS.maxWrittenFiles - 20, moreAtLeast: false });
  });

  it('stays within its budget with the longest paths, counting what it leaves out', () => {
    const long = (i: number) => `${i}/${'x'.repeat(LIMITS.maxWrittenPathLength - 5)}`;
    const r = run([step('write', { written: Array.from({ length: 25 }, (_, i) => long(i)) })]);
    const summary = summarizeRun(r);
    expect(Buffer.byteLength(JSON.stringify(summary))).toBeLessThanOrEqual(SUMMARY_BUDGET_BYTES);
    expect(summary.files.length).toBeGreaterThan(0);
    expect(summary.files.length + (summary.filesOmitted ?? 0)).toBe(25);
    expect(summary.files[0]).toMatch(/^0\/x+…$/);
  });
});
