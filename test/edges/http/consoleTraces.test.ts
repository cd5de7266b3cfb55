/**
 * The console shows traces (real Chromium through playwright-core, a real traced engine): a run's trace id in the
 * run page's header and its step's task trace id in the step details, each linked to the trace UI through
 * `tracing.linkTemplate`; a template holding markup stays an attribute value, never a script.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../../src/index.js';
import { compileTracing } from '../../../src/config/tracing.js';
import { testEngine } from '../../helpers.js';
import { haveChromium, launchBrowser, type TestBrowser } from '../../support/browser.js';

// A template an operator got wrong in the worst way: the markup must end up inside the href, as text.
const TEMPLATE = 'http://localhost:16686/trace/{traceId}?from="><script>window.__xss=1</script>';
const linkOf = (traceId: string): string => TEMPLATE.replace('{traceId}', traceId);

describe('trace links: options', () => {
  it('takes only an http(s) template that names {traceId}', () => {
    expect(compileTracing({ linkTemplate: 'https://tempo.example/explore?trace={traceId}' }, {}).linkTemplate).toBe(
      'https://tempo.example/explore?trace={traceId}',
    );
    expect(() => compileTracing({ linkTemplate: 'javascript:alert(1)//{traceId}' }, {})).toThrow(
      /tracing\.linkTemplate: must be an http:\/\/ or https:\/\/ URL/,
    );
    expect(() => compileTracing({}, { CODOMYRMEX_TRACE_LINK: 'data:text/html,{traceId}' })).toThrow(
      /CODOMYRMEX_TRACE_LINK: must be an http:\/\/ or https:\/\/ URL/,
    );
  });
});

describe.skipIf(!haveChromium())('trace links in the console (Chromium)', () => {
  let engine: OrchestrationEngine;
  let base: string;
  let browser: TestBrowser;

  beforeAll(async () => {
    const exporter = {
      export: (_spans: unknown[], done: (r: { code: number }) => void) => done({ code: 0 }),
      shutdown: () => Promise.resolve(),
    };
    engine = testEngine({ threads: 1, http: { port: 0 }, tracing: { exporter, linkTemplate: TEMPLATE } });
    await engine.ready();
    base = engine.httpAddress!.url;
    await engine.workflows.createWorkflow('traced', [
      { name: 'only', module: 'core', action: 'echo', parameters: { x: 1 } },
    ]);
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await engine?.shutdown({ graceMs: 0 });
  });

  it("shows the run's and its step's trace ids, linked to the trace UI, with the template's markup kept as text", async () => {
    const result = await engine.workflows.executeWorkflow('traced');
    expect(result.success).toBe(true);
    const traceId = engine.tracing!.traceIdOfRun(result.runId)!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    // The step's attempt is in the run's trace.
    expect(engine.tracing!.traceIdOfTask(`${result.runId}.only`)).toBe(traceId);

    const page = await browser.page();
    await page.goto(`${base}/runs/${result.runId}`);
    const run = page.locator('[data-testid="run-trace"]');
    await run.waitFor();
    expect(await run.textContent()).toBe(traceId);
    expect(await run.getAttribute('href')).toBe(linkOf(traceId));
    expect(await run.getAttribute('target')).toBe('_blank');
    expect(await run.getAttribute('rel')).toBe('noopener noreferrer');

    await page.click('[data-step="only"]');
    const task = page.locator('[data-testid="task-trace-id"]');
    await task.waitFor();
    expect(await task.textContent()).toBe(traceId);
    expect(await task.getAttribute('href')).toBe(linkOf(traceId));

    // The template's markup never ran and never became an element.
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.locator('script:text("__xss")').count()).toBe(0);
    expect(browser.errors).toEqual([]);
    await page.close();
  });

  it("gives a task's trace and its link through the API", async () => {
    const page = await browser.page();
    const task = await engine.tasks.executeTask({ module: 'core', action: 'noop', parameters: {} });
    const body = (await (await page.request.get(`${base}/api/v1/tasks/${task.taskId}`)).json()) as {
      ok: boolean;
      result: { trace: { traceId: string; url: string } | null };
    };
    expect(body.result.trace?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(body.result.trace?.url).toBe(linkOf(body.result.trace!.traceId));
    await page.close();
  });
});
