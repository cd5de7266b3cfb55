/**
 * Insights true about the repository, through the CLI: tests are looked for where the conventions put them around
 * the analysed path (`test/` beside `src/`), the finding says where it looked, and each finding stands on its own.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

let root: string;
const branchy = (name: string) =>
  `export function ${name}(a: number) {\n${Array.from({ length: 12 }, (_, i) => `  if (a === ${i}) return ${i};`).join('\n')}\n  return -1;\n}\n`;
const ANALYSIS = JSON.stringify({
  name: 'insights',
  steps: [
    { name: 'analyze', module: 'static_analysis', action: 'analyze_code_quality', parameters: { path: 'src' } },
    { name: 'insights', module: 'ai_code_editing', action: 'generate_code_insights', parameters: { llm: 'off' } },
  ],
  dependencies: { insights: ['analyze'] },
});

interface Finding {
  rule: string;
  target: string;
  title: string;
  explanation: string;
  suggestion: string;
}

async function findingsIn(dir: string): Promise<Finding[]> {
  await writeFile(join(dir, 'insights.json'), ANALYSIS);
  const r = await runCli(dir, ['--threads', '1', '--store', 'memory', 'exec', 'insights.json', '--json'], {
    CODOMYRMEX_NATS_URL: '',
  });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { steps: { insights: { result: { findings: Finding[] } } } }).steps.insights.result
    .findings;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codomyrmex-insights-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('insights on path=src', () => {
  it('finds the tests in test/ beside src/: no "no tests" finding, untested files named by the test names', async () => {
    const repo = join(root, 'tested');
    await mkdir(join(repo, 'src'), { recursive: true });
    await mkdir(join(repo, 'test'));
    await writeFile(join(repo, 'package.json'), '{ "name": "tested" }\n');
    await writeFile(join(repo, 'src', 'parse.ts'), branchy('parse'));
    await writeFile(join(repo, 'src', 'render.ts'), branchy('render'));
    await writeFile(join(repo, 'src', 'store.ts'), branchy('store'));
    await writeFile(join(repo, 'test', 'parse.test.ts'), "import { parse } from '../src/parse.js';\nparse(1);\n");
    const findings = await findingsIn(repo);
    expect(findings.map((f) => f.rule)).not.toContain('no-tests');
    const untested = findings.find((f) => f.rule === 'untested-area');
    expect(untested).toMatchObject({ target: 'src', title: 'src: 2 of 3 files have no test named after them' });
    expect(untested?.explanation).toMatch(/render\.ts, store\.ts/);
  }, 60_000);

  it('with no tests anywhere, says where it looked and names the functions to start with', async () => {
    const repo = join(root, 'untested');
    await mkdir(join(repo, 'src'), { recursive: true });
    await writeFile(join(repo, 'package.json'), '{ "name": "untested" }\n');
    await writeFile(join(repo, 'src', 'parse.ts'), branchy('parse'));
    const findings = await findingsIn(repo);
    const none = findings.find((f) => f.rule === 'no-tests');
    expect(none).toMatchObject({ target: 'src', title: 'no test files among 1 source files' });
    expect(none?.explanation).toMatch(
      /^no test file was found in src and in the repository around it \(\.\), looking for test\/, tests\/, __tests__\/, spec\/, \*\.test\.\*/,
    );
    expect(none?.suggestion).toBe(
      'start with tests for the most complex functions: parse (src/parse.ts:1, complexity 13)',
    );
    for (const f of findings) expect(`${f.explanation} ${f.suggestion}`).not.toMatch(/\babove\b|\bbelow\b/);
  }, 60_000);
});
