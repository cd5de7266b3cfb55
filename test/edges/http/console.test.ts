/**
 * The console in a real browser (Debian's Chromium through playwright-core) against a real engine on a SQLite file:
 * the runs list, a run started from the Workflows page turning green live, a step's output, cancelling a run,
 * approving a step that waits for a signal, retrying a failed run from a step, the
 * 404 page, the login page, and run data holding markup that must stay text. Takes the README's screenshots.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestrationEngine } from '../../../src/index.js';
import { packagePath } from '../../../src/config/options.js';
import { testEngine } from '../../helpers.js';
import { haveChromium, launchBrowser, type TestBrowser } from '../../support/browser.js';
import { PROBE_DIR } from '../../support/remote.js';

const XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">';
const TOKEN = 'console-token-0123456789abcdef';

describe.skipIf(!haveChromium())('console in Chromium', () => {
  let dir: string;
  let engine: OrchestrationEngine;
  let base: string;
  let browser: TestBrowser;

  const define = (definition: Record<string, unknown>): Promise<unknown> =>
    engine.bus.request('workflow.create', { definition });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codomyrmex-console-'));
    engine = testEngine({
      store: 'sqlite',
      dbPath: join(dir, 'state.db'),
      threads: 2,
      http: { port: 0 },
      moduleDirs: [PROBE_DIR],
    });
    await engine.ready();
    base = engine.httpAddress!.url;
    await define({
      name: 'etl',
      description: 'extract, two transforms, load',
      params: { rows: 3, label: 'nightly' },
      steps: [
        { name: 'extract', module: 'core', action: 'echo', parameters: { value: { rows: '{{params.rows}}' } } },
        { name: 'clean', module: 'core', action: 'sleep', parameters: { ms: 30 }, dependencies: ['extract'] },
        { name: 'enrich', module: 'core', action: 'progress', parameters: { steps: 2 }, dependencies: ['extract'] },
        {
          name: 'load',
          module: 'core',
          action: 'echo',
          parameters: { value: '{{params.label}}' },
          dependencies: ['clean', 'enrich'],
        },
        { name: 'report', module: 'core', action: 'noop', dependencies: ['load'] },
      ],
    });
    await define({
      name: 'xss',
      description: XSS,
      params: { note: XSS },
      steps: [{ name: 'emit', module: 'core', action: 'echo', parameters: { value: XSS, note: '{{params.note}}' } }],
    });
    await define({
      name: 'slow',
      steps: [
        { name: 'wait', module: 'core', action: 'sleep', parameters: { ms: 600_000 } },
        { name: 'after', module: 'core', action: 'noop', dependencies: ['wait'] },
      ],
    });
    await define({
      name: 'broken',
      steps: [
        { name: 'boom', module: 'core', action: 'fail', parameters: { retryable: false, message: 'disk full' } },
        { name: 'never', module: 'core', action: 'noop', dependencies: ['boom'] },
      ],
    });
    // Some history for the runs list.
    for (const name of ['etl', 'broken', 'etl', 'xss'])
      await engine.workflows.waitForRun(await engine.workflows.startWorkflow(name));
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await engine?.shutdown({ graceMs: 0 });
    await rm(dir, { recursive: true, force: true });
  });

  it('lists runs newest first, filters by status, and takes the runs screenshot', async () => {
    const page = await browser.page();
    await page.goto(`${base}/runs`);
    await page.waitForSelector('[data-testid="live"].on');
    const rows = page.locator('table[data-testid="runs"] tbody tr');
    await expect.poll(() => rows.count()).toBe(4);
    expect(await rows.first().locator('td').nth(1).textContent()).toMatch(/^xss/);
    await page.selectOption('select[name="status"]', 'failed');
    await page.waitForURL(/status=failed/);
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toMatch(/broken/);
    await page.goBack();
    await expect.poll(() => rows.count()).toBe(4);
    // A run that starts appears without a reload.
    const runId = await engine.workflows.startWorkflow('etl');
    await page.waitForSelector(`tr[data-run="${runId}"]`);
    await engine.workflows.waitForRun(runId);
    await page.waitForSelector(`tr[data-run="${runId}"] .badge.s-succeeded`);
    await mkdir(packagePath('docs', 'images'), { recursive: true });
    await page.screenshot({ path: packagePath('docs', 'images', 'console-runs.png') });
    await page.close();
  });

  it('starts a run from the Workflows page and watches its graph turn green live', async () => {
    const page = await browser.page();
    page.setDefaultTimeout(8000);
    await page.goto(`${base}/workflows`);
    await page.click('a[href="/workflows/etl"]');
    await page.waitForURL(/\/workflows\/etl$/);
    await page.waitForSelector('[data-testid="graph"] [data-step="report"]');
    await page.fill('input[name="label"]', 'from-the-console');
    await page.click('[data-testid="start-run"]');
    await page.click('[data-testid="confirm"]');
    await page.waitForURL(/\/runs\/[^/]+$/);
    const runId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    // Every step of the definition is drawn, and each turns green as it completes.
    try {
      for (const step of ['extract', 'clean', 'enrich', 'load', 'report'])
        await page.waitForSelector(`[data-step="${step}"][data-status="completed"]`, { timeout: 10_000 });
    } catch (err) {
      await page.screenshot({ path: '/tmp/console-debug.png' });
      throw err;
    }
    await page.waitForSelector('[data-testid="run-status"] .badge.s-succeeded');
    await page.click('[data-step="load"]');
    await expect.poll(() => page.textContent('[data-testid="step-output"]')).toBe('"from-the-console"');
    await page.click('[data-step="enrich"]');
    await page.waitForSelector('[data-testid="logs"]');
    expect(await page.textContent('[data-testid="logs"]')).toMatch(/reported 2 steps/);
    expect((await engine.workflows.getRun(runId))?.params).toMatchObject({ label: 'from-the-console', rows: 3 });
    await page.click('[data-step="load"]');
    await page.screenshot({ path: packagePath('docs', 'images', 'console-run.png') });
    // The browser's back button returns to the workflow.
    await page.goBack();
    await page.waitForURL(/\/workflows\/etl$/);
    await page.close();
  });

  it('shows a run that has not started its steps, then cancels it after confirmation', async () => {
    const runId = await engine.workflows.startWorkflow('slow');
    const page = await browser.page();
    await page.goto(`${base}/runs/${runId}`);
    await page.waitForSelector('[data-step="wait"][data-status="running"]');
    expect(await page.getAttribute('[data-step="after"]', 'data-status')).toBe('pending');
    await page.click('[data-testid="cancel"]');
    await page.click('[data-testid="confirm"]');
    await page.waitForSelector('[data-testid="action-result"]');
    expect(await page.textContent('[data-testid="action-result"]')).toMatch(/Done[\s\S]*"cancelled": true/);
    await page.click('text=Close');
    await page.waitForSelector('[data-testid="run-status"] .badge.s-cancelled');
    await page.waitForSelector('[data-step="wait"][data-status="cancelled"]');
    await page.close();
  });

  it('approves a step waiting for a signal with a JSON payload, after confirmation', async () => {
    await define({
      name: 'release',
      steps: [
        { name: 'build', module: 'core', action: 'noop' },
        { name: 'approval', waitFor: { signal: 'approve' }, dependencies: ['build'] },
        {
          name: 'ship',
          module: 'core',
          action: 'echo',
          parameters: { value: '{{approval.output.by}}' },
          dependencies: ['approval'],
        },
      ],
    });
    const runId = await engine.workflows.startWorkflow('release');
    const page = await browser.page();
    await page.goto(`${base}/runs/${runId}`);
    await page.waitForSelector(
      '[data-step="approval"][data-status="waiting"], [data-step="approval"][data-status="running"]',
    );
    await page.click('[data-step="approval"]');
    await page.waitForSelector('[data-testid="signal-form"]');
    // A payload that is not JSON is refused in the page, naming the field; nothing is sent.
    await page.fill('textarea[name="payload"]', '{ by: ana');
    await page.click('[data-testid="send-signal"]');
    await page.waitForSelector('[data-testid="signal-form"] .error');
    expect(await page.textContent('[data-testid="signal-form"] .error')).toMatch(/^payload: not valid JSON/);
    expect((await engine.workflows.getRun(runId))?.status).toBe('running');
    await page.fill('textarea[name="payload"]', '{ "by": "ana" }');
    await page.click('[data-testid="send-signal"]');
    await page.click('[data-testid="confirm"]');
    await page.waitForSelector('[data-testid="action-result"]');
    expect(await page.textContent('[data-testid="action-result"]')).toMatch(/Done[\s\S]*"delivered": true/);
    const result = await engine.workflows.waitForRun(runId);
    expect(result.success).toBe(true);
    expect(result.steps['ship']?.result).toBe('ana');
    await page.waitForSelector('[data-testid="run-status"] .badge.s-succeeded');
    await page.close();
  });

  it('retries a failed run from a chosen step: the new run keeps the upstream output and links back', async () => {
    await define({
      name: 'flaky-load',
      steps: [
        { name: 'extract', module: 'core', action: 'echo', parameters: { value: 'rows' } },
        {
          name: 'load',
          module: 'core',
          action: 'fail',
          parameters: { retryable: false, message: 'target locked' },
          dependencies: ['extract'],
        },
      ],
    });
    const failed = await engine.workflows.waitForRun(await engine.workflows.startWorkflow('flaky-load'));
    expect(failed.status).toBe('failed');
    const page = await browser.page();
    await page.goto(`${base}/runs/${failed.runId}`);
    await page.waitForSelector('[data-step="load"][data-status="failed"]');
    await page.click('[data-step="load"]');
    expect(await page.textContent('[data-testid="step-error"]')).toMatch(/target locked/);
    await page.click('[data-testid="retry-from-step"]');
    await page.click('[data-testid="confirm"]');
    await page.waitForURL(
      (u) => u.pathname.startsWith('/runs/') && !u.pathname.endsWith(encodeURIComponent(failed.runId)),
    );
    const retryId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    await page.waitForSelector(`a[href="/runs/${encodeURIComponent(failed.runId)}"]`);
    const retried = await engine.workflows.waitForRun(retryId);
    expect((await engine.workflows.getRun(retryId))?.retryOf).toBe(failed.runId);
    expect(retried.steps['extract']).toMatchObject({ status: 'completed', reused: true, reusedFrom: failed.runId });
    expect(retried.steps['load']?.status).toBe('failed');
    await page.close();
  });

  it('shows a run held back by a concurrency key, with the run holding it, until it starts', async () => {
    await define({
      name: 'deploy',
      concurrency: { key: 'deploy-{{params.env}}', limit: 1 },
      params: { env: 'prod' },
      steps: [{ name: 'ship', module: 'core', action: 'sleep', parameters: { ms: 600_000 } }],
    });
    const holder = await engine.workflows.startWorkflow('deploy');
    const queued = await engine.workflows.startWorkflow('deploy');
    const page = await browser.page();
    await page.goto(`${base}/runs/${queued}`);
    await page.waitForSelector('[data-testid="held"]');
    expect(await page.textContent('[data-testid="held"]')).toMatch(/concurrency key deploy-prod .*: 1 of 1 running/);
    expect(await page.getAttribute('[data-testid="held"] a', 'href')).toBe(`/runs/${encodeURIComponent(holder)}`);
    await engine.workflows.cancelRun(holder, 'test');
    await page.waitForSelector('[data-step="ship"][data-status="running"]');
    await expect.poll(() => page.locator('[data-testid="held"]').count()).toBe(0);
    await engine.workflows.cancelRun(queued, 'test');
    await page.close();
  });

  it('renders run data holding markup as text, never as HTML', async () => {
    const runId = (await engine.workflows.listRuns({ workflowName: 'xss', limit: 1 }))[0]!.runId;
    const page = await browser.page();
    await page.goto(`${base}/runs/${runId}`);
    await page.click('[data-step="emit"]');
    await page.waitForSelector('[data-testid="step-output"]');
    expect(await page.textContent('[data-testid="step-output"]')).toContain('<script>window.__xss = 1</script>');
    await page.goto(`${base}/workflows/xss`);
    await page.waitForSelector('input[name="note"]');
    expect(await page.inputValue('input[name="note"]')).toBe(XSS);
    expect(await page.textContent('main')).toContain('<img src=x onerror=');
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.locator('main img, main script').count()).toBe(0);
    await page.close();
  });

  it("lists a step's artifacts and downloads one as a file, never rendering it (an HTML artifact holding a script)", async () => {
    const content = `<html><body>${XSS}<script>parent.__xss = 3</script></body></html>`;
    await define({
      name: 'files',
      steps: [
        { name: 'make', module: 'probe', action: 'produce', parameters: { file: 'page.html', content, name: 'page' } },
      ],
    });
    const result = await engine.workflows.waitForRun(
      await engine.workflows.startWorkflow('files', {}, { workingDir: dir }),
    );
    expect(result.steps['make']?.error ?? null).toBeNull();
    const page = await browser.page();
    await page.goto(`${base}/runs/${result.runId}`);
    await page.click('[data-step="make"]');
    const row = page.locator('[data-testid="artifacts"] tr');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.first().textContent()).toMatch(/page\s*page\.html\s*\d+\s*byte/);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('[data-testid="artifact-download"]'),
    ]);
    expect(download.suggestedFilename()).toBe('page.html');
    expect(await readFile(await download.path(), 'utf8')).toBe(content);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    // Served only as a download: never a page of the console's origin.
    const res = await fetch(`${base}/api/v1/runs/${result.runId}/artifacts/make/page`);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="page.html"');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toMatch(/^sandbox/);
    expect(await res.text()).toBe(content);
    const missing = (await (await fetch(`${base}/api/v1/runs/${result.runId}/artifacts/make/nope`)).json()) as {
      ok: boolean;
      error: { code: string; message: string };
    };
    expect(missing.ok).toBe(false);
    expect(missing.error.code).toBe('NOT_FOUND');
    expect(missing.error.message).toMatch(/has no artifact "nope" \(it has: page\)/);
    await page.close();
  });

  it('draws every step of a wide fan-out, its branches grouped in one box', async () => {
    const steps: Record<string, unknown>[] = [{ name: 'root', module: 'core', action: 'noop' }];
    for (let i = 0; i < 30; i++) steps.push({ name: `b${i}`, module: 'core', action: 'noop', dependencies: ['root'] });
    steps.push({ name: 'join', module: 'core', action: 'noop', dependencies: steps.slice(1).map((s) => s['name']) });
    await define({ name: 'wide', steps });
    const runId = await engine.workflows.startWorkflow('wide');
    await engine.workflows.waitForRun(runId);
    const page = await browser.page();
    await page.goto(`${base}/runs/${runId}`);
    await page.waitForSelector('[data-step="join"][data-status="completed"]');
    expect(await page.locator('[data-step]').count()).toBe(32);
    expect(await page.textContent('svg.graph .group')).toBe('30 parallel steps');
    expect(await page.locator('.group ~ [data-step="b29"][data-status="completed"]').count()).toBe(1);
    await page.close();
  });

  it('answers an unknown run with a 404 page that links back', async () => {
    const page = await browser.page();
    const res = await page.goto(`${base}/runs/no-such-run`);
    expect(res?.status()).toBe(404);
    await page.waitForSelector('[data-testid="not-found"]');
    await page.click('text=Back to runs');
    await page.waitForURL(/\/runs$/);
    await page.close();
  });

  it('breaks no Content-Security-Policy rule', () => {
    expect(browser.errors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
  });

  it('asks for the token when the daemon needs one, and keeps it', async () => {
    const locked = testEngine({
      store: 'sqlite',
      dbPath: join(dir, 'locked.db'),
      threads: 1,
      http: { port: 0, authToken: TOKEN },
    });
    try {
      await locked.ready();
      await locked.bus.request('workflow.create', {
        definition: { name: 'one', steps: [{ name: 'a', module: 'core', action: 'noop' }] },
      });
      await locked.workflows.waitForRun(await locked.workflows.startWorkflow('one'));
      const page = await browser.page();
      await page.goto(`${locked.httpAddress!.url}/runs`);
      await page.waitForSelector('input[name="token"]');
      await page.fill('input[name="token"]', TOKEN);
      await page.click('button:has-text("Sign in")');
      await expect.poll(() => page.locator('table[data-testid="runs"] tbody tr').count()).toBe(1);
      await page.reload();
      await expect.poll(() => page.locator('table[data-testid="runs"] tbody tr').count()).toBe(1);
      await page.close();
    } finally {
      await locked.shutdown({ graceMs: 0 });
    }
  });

  it('is readable at a phone width', async () => {
    const page = await browser.page();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/runs`);
    await page.waitForSelector('table[data-testid="runs"] tbody tr');
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await page.close();
  });
});
