/**
 * `npm run bench:analysis`: static_analysis.analyze_code_quality on a generated tree of 10,000 source files
 * (BENCH_FILES to change it), end to end through the engine (one task in a worker thread), and the other actions
 * of the ai-analysis workflow on its result. Prints a table and writes benchmarks/results/analysis-*.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOrchestrationEngine } from '../src/index.js';
import { envInt, log, mb, median, round, writeResults } from './support.js';

const FILES = envInt('BENCH_FILES', 10_000);
const RUNS = envInt('BENCH_RUNS', 3);

/** A TypeScript file with `n` functions of some branching, a comment block and a TODO now and then. */
function tsFile(i: number, n: number): string {
  const out = [
    `/** Module ${i}: generated for the benchmark. */`,
    `import { helper } from './m${(i + 1) % 50}.js';`,
    '',
  ];
  for (let f = 0; f < n; f++) {
    out.push(
      `// ${f % 7 === 0 ? 'TODO: simplify' : 'computes a value'}`,
      `export function fn${i}_${f}(a: number, b: string[]): number {`,
      '  let total = 0;',
      '  for (const s of b) {',
      `    if (s.length > ${f} && a > 0) total += helper(s);`,
      '    else if (s === "x" || s === "y") total -= 1;',
      '  }',
      '  return total > 10 ? total : a ?? 0;',
      '}',
      '',
    );
  }
  return out.join('\n');
}

const py = (i: number): string =>
  `# module ${i}\n\ndef f${i}(x):\n    """Doc."""\n    if x:\n        return x * 2  # double\n    return 0\n`;
const md = (i: number): string => `# Note ${i}\n\nSome text.\n\n<!-- hidden -->\n`;

async function generate(root: string): Promise<{ files: number; bytes: number }> {
  let bytes = 0;
  await writeFile(join(root, '.gitignore'), 'generated/\n*.log\n');
  const dirs = Math.ceil(FILES / 100);
  let made = 0;
  for (let d = 0; d < dirs && made < FILES; d++) {
    const dir = join(root, 'src', `pkg${Math.floor(d / 10)}`, `mod${d}`);
    await mkdir(dir, { recursive: true });
    const batch: Promise<void>[] = [];
    for (let k = 0; k < 100 && made < FILES; k++, made++) {
      const kind = made % 10;
      const [name, text] =
        kind < 7
          ? [`m${k}.ts`, tsFile(made, 3 + (made % 5))]
          : kind < 8
            ? [`m${k}.test.js`, tsFile(made, 2)]
            : kind < 9
              ? [`m${k}.py`, py(made)]
              : [`m${k}.md`, md(made)];
      bytes += Buffer.byteLength(text);
      batch.push(writeFile(join(dir, name), text));
    }
    await Promise.all(batch);
  }
  // Left out by .gitignore and the default excludes: must cost (almost) nothing.
  await mkdir(join(root, 'generated'), { recursive: true });
  await mkdir(join(root, 'node_modules', 'dep'), { recursive: true });
  for (let k = 0; k < 200; k++) {
    await writeFile(join(root, 'generated', `g${k}.ts`), tsFile(k, 2));
    await writeFile(join(root, 'node_modules', 'dep', `d${k}.js`), tsFile(k, 2));
  }
  return { files: made, bytes };
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'codomyrmex-bench-analysis-'));
  const before = process.cwd();
  const t0 = performance.now();
  const gen = await generate(root);
  const genMs = performance.now() - t0;
  process.chdir(root);
  const engine = createOrchestrationEngine({ threads: 2, workflowDirs: [] });
  try {
    const times: number[] = [];
    type Analysis = { totals: Record<string, number>; skipped: Record<string, unknown>; durationMs: number };
    let result: Analysis | null = null;
    let resultBytes = 0;
    for (let r = 0; r < RUNS; r++) {
      const s = performance.now();
      const res = await engine.tasks.executeTask({
        module: 'static_analysis',
        action: 'analyze_code_quality',
        parameters: {},
        maxRetries: 0,
        timeout: 600,
      });
      times.push(performance.now() - s);
      if (res.status !== 'completed') throw new Error(`analysis ${res.status}: ${res.error?.message}`);
      result = res.result as Analysis;
      resultBytes = Buffer.byteLength(JSON.stringify(res.result));
    }
    if (result === null) throw new Error('no result');
    // The rest of the ai-analysis workflow, reading the analysis from upstream (no template, no size limit).
    const wf = await engine.executeComplexWorkflow({
      steps: [
        { name: 'analyze', module: 'static_analysis', action: 'analyze_code_quality', timeout: 600 },
        {
          name: 'insights',
          module: 'ai_code_editing',
          action: 'generate_code_insights',
          parameters: { llm: 'off' },
          dependencies: ['analyze'],
        },
        {
          name: 'chart',
          module: 'data_visualization',
          action: 'create_analysis_chart',
          parameters: { output: 'chart.svg', png: true },
          dependencies: ['analyze'],
        },
      ],
    });
    if (wf.status !== 'succeeded') throw new Error(`workflow ${wf.status}: ${JSON.stringify(wf.steps)}`);
    const insightsMs = wf.steps['insights']?.durationMs ?? NaN;
    const chartMs = wf.steps['chart']?.durationMs ?? NaN;
    const ms = median(times);
    const t = result.totals;
    const rows = [
      ['files generated', String(gen.files), `${mb(gen.bytes)} MB, in ${round(genMs)} ms`],
      ['files analysed', String(t['files']), `${t['functions']} functions, ${t['lines']} lines`],
      [
        'analysis (median of runs)',
        `${round(ms)} ms`,
        `${round((t['files'] ?? 0) / (ms / 1000))} files/s, ${round(mb(gen.bytes) / (ms / 1000), 1)} MB/s; runs: ${times.map((x) => round(x)).join(', ')} ms`,
      ],
      ['  of which in the action', `${result.durationMs} ms`, 'last run, as the action measured it'],
      ['result size', `${round(resultBytes / 1024)} KiB`, 'JSON'],
      ['insights (rules only)', `${round(insightsMs)} ms`, 'workflow step, analysis from upstream'],
      ['analysis chart (SVG + PNG)', `${round(chartMs)} ms`, 'workflow step, first chart in its worker loads Vega'],
    ];
    const w0 = Math.max(...rows.map((r) => (r[0] ?? '').length));
    const w1 = Math.max(...rows.map((r) => (r[1] ?? '').length));
    log(
      `static analysis benchmark: ${FILES} generated files, Node ${process.versions.node}, ${availableParallelism()} CPUs, engine with 2 worker threads`,
    );
    log('');
    for (const r of rows) log(`${(r[0] ?? '').padEnd(w0)}  ${(r[1] ?? '').padStart(w1)}  ${r[2] ?? ''}`);
    process.chdir(before);
    const files = writeResults('analysis', {
      node: process.versions.node,
      cpus: availableParallelism(),
      files: gen.files,
      bytes: gen.bytes,
      runsMs: times.map((x) => round(x, 1)),
      medianMs: round(ms, 1),
      filesPerSecond: round((t['files'] ?? 0) / (ms / 1000)),
      actionMs: result.durationMs,
      resultBytes,
      insightsMs: round(insightsMs, 1),
      chartMs: round(chartMs, 1),
      totals: t,
      skipped: result.skipped,
    });
    log(`\nwrote ${files.join(', ')}`);
  } finally {
    process.chdir(before);
    await engine.shutdown();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
