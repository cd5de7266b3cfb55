import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../src/index.js';
import { findingsFor } from '../../src/modules/insights/rules.js';
import { testEngine } from '../helpers.js';

const fn = (name: string, complexity: number, lines: number, nesting: number) => ({
  file: `src/${name}.ts`,
  name,
  line: 1,
  lines,
  complexity,
  nesting,
});
const ANALYSIS = {
  path: '.',
  totals: {
    files: 3,
    lines: 1500,
    code: 1400,
    comment: 20,
    blank: 80,
    todos: 2,
    fixmes: 1,
    functions: 3,
    testFiles: 0,
  },
  languages: { TypeScript: { files: 3, lines: 1500, code: 1400, comment: 20, blank: 80 } },
  files: [
    { path: 'src/big.ts', language: 'TypeScript', lines: 900, code: 850, complexity: 80, test: false },
    { path: 'src/mid.ts', language: 'TypeScript', lines: 450, code: 400, complexity: 15, test: false },
    { path: 'src/small.ts', language: 'TypeScript', lines: 150, code: 150, complexity: 3, test: false },
  ],
  complexFunctions: [fn('big', 25, 130, 6), fn('mid', 12, 40, 2)],
  longFunctions: [fn('big', 25, 130, 6)],
  deepFunctions: [fn('big', 25, 130, 6)],
};

interface Insights {
  summary: string;
  findings: {
    rule: string;
    severity: string;
    target: string;
    title: string;
    explanation: string;
    suggestion: string;
  }[];
  counts: Record<string, number>;
  model: null | { model: string; text: string } | { error: string };
}

describe('ai_code_editing.generate_code_insights', () => {
  let engine: OrchestrationEngine;
  let url: string;
  const seen: {
    path: string;
    auth: string | undefined;
    body: { model: string; messages: { role: string; content: string }[] };
  }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      seen.push({
        path: req.url ?? '',
        auth: req.headers.authorization,
        body: JSON.parse(raw) as (typeof seen)[number]['body'],
      });
      if (req.url?.startsWith('/ok/')) {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            model: 'test-model-1',
            choices: [{ message: { role: 'assistant', content: 'Split big.ts first.' } }],
            usage: { total_tokens: 12 },
          }),
        );
      } else if (req.url?.startsWith('/fail/')) {
        res.statusCode = 500;
        res.end('{"error":"overloaded"}');
      } else if (req.url?.startsWith('/garbage/')) {
        res.end('<html>not json</html>');
      }
      // '/hang/': never answers.
    });
  });
  const saved = { ...process.env };
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Worker threads copy the environment when they start: set it before the engine exists.
    process.env['CODOMYRMEX_LLM_BASE_URL'] = `${url}/ok/v1/`;
    process.env['CODOMYRMEX_LLM_MODEL'] = 'test-model';
    process.env['CODOMYRMEX_LLM_API_KEY'] = 'sk-test';
    engine = testEngine({ threads: 1 });
  });
  afterAll(async () => {
    await engine.shutdown();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    for (const k of ['CODOMYRMEX_LLM_BASE_URL', 'CODOMYRMEX_LLM_MODEL', 'CODOMYRMEX_LLM_API_KEY']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  const insights = (parameters: Record<string, unknown>) =>
    engine.tasks.executeTask({
      module: 'ai_code_editing',
      action: 'generate_code_insights',
      parameters: { analysis_data: ANALYSIS, ...parameters },
      maxRetries: 0,
    });

  it('ranks explained findings deterministically: severity, then how far past the threshold', () => {
    const f = findingsFor(ANALYSIS);
    expect(f.map((x) => `${x.severity} ${x.rule} ${x.target}`)).toEqual([
      'high no-tests .',
      'high complex-function src/big.ts:1 big',
      'high long-function src/big.ts:1 big',
      'high deep-nesting src/big.ts:1 big',
      'high hotspot-file src/big.ts',
      'medium markers TODO/FIXME',
      'medium complex-function src/mid.ts:1 mid',
      'low comment-density TypeScript',
      'low large-file src/mid.ts',
    ]);
    expect(f[1]).toMatchObject({
      title: 'big has cyclomatic complexity 25',
      explanation: expect.stringContaining('25 independent paths') as string,
    });
    expect(findingsFor(ANALYSIS)).toEqual(f);
  });

  it('asks the configured OpenAI-compatible model (env) and returns its text beside the rule-based findings', async () => {
    const r = await insights({});
    expect(r.status).toBe('completed');
    const out = r.result as Insights;
    expect(out.model).toEqual({ model: 'test-model-1', text: 'Split big.ts first.' });
    expect(out.findings.length).toBe(9);
    expect(out.counts).toEqual({ high: 5, medium: 2, low: 2 });
    const call = seen.at(-1);
    expect(call?.path).toBe('/ok/v1/chat/completions');
    expect(call?.auth).toBe('Bearer sk-test');
    expect(call?.body.model).toBe('test-model');
    expect(call?.body.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(call?.body.messages[1]?.content).toContain('big has cyclomatic complexity 25');
  });

  it('reports a model error beside the findings (auto), or fails the task (required)', async () => {
    const auto = (await insights({ llmBaseUrl: `${url}/fail/v1` })).result as Insights;
    expect(auto.findings.length).toBe(9);
    expect(auto.model).toEqual({
      error: expect.stringMatching(/answered HTTP 500: \{"error":"overloaded"\}/) as string,
    });
    const required = await insights({ llmBaseUrl: `${url}/fail/v1`, llm: 'required' });
    expect(required).toMatchObject({ status: 'failed', error: { code: 'ACTION_FAILED' } });
    const garbage = (await insights({ llmBaseUrl: `${url}/garbage/v1` })).result as Insights;
    expect(garbage.model).toEqual({ error: expect.stringMatching(/not JSON/) as string });
  });

  it('gives up on a model that hangs after llmTimeoutMs, and on one that refuses connections', async () => {
    const hung = (await insights({ llmBaseUrl: `${url}/hang/v1`, llmTimeoutMs: 300 })).result as Insights;
    expect(hung.model).toEqual({ error: expect.stringMatching(/did not answer within 300 ms/) as string });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = (await insights({ llmBaseUrl: `http://127.0.0.1:${port}/v1` })).result as Insights;
    expect(refused.model).toEqual({ error: expect.stringMatching(/unreachable: ECONNREFUSED/) as string });
  });

  it('llm: off never calls the model; a missing or malformed analysis fails without retry', async () => {
    const before = seen.length;
    const off = (await insights({ llm: 'off' })).result as Insights;
    expect(off.model).toBeNull();
    expect(seen.length).toBe(before);
    const missing = await engine.tasks.executeTask({
      module: 'ai_code_editing',
      action: 'generate_code_insights',
      parameters: {},
      maxRetries: 3,
    });
    expect(missing).toMatchObject({ status: 'failed', attempts: 1 });
    expect(missing.error?.message).toMatch(/analysis_data: missing/);
    // A malformed analysis given explicitly is refused when the task is added, naming the field.
    await expect(
      engine.tasks.executeTask({
        module: 'ai_code_editing',
        action: 'generate_code_insights',
        parameters: { analysis_data: { totals: 'x' } },
      }),
    ).rejects.toThrow(/parameters\.analysis_data\.totals: Expected object/);
  });
});
