/**
 * The CLI reaching a daemon over HTTP: a `codomyrmex daemon` child process holds the folder's store; a CLI command
 * run in the same folder finds the daemon's address in the store and talks to it instead of failing on the lock;
 * `--daemon URL` names one explicitly, with the token from `CODOMYRMEX_AUTH_TOKEN`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startDaemon, type DaemonProcess } from '../support/daemon.js';

const TOKEN = 'cli-http-token-0123456789abcdef';

describe('the CLI over HTTP', () => {
  let dir: string;
  let daemon: DaemonProcess;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codomyrmex-clihttp-'));
    daemon = startDaemon(dir, ['--auth-token', TOKEN]);
    const line = await daemon.waitForLine((l) => l.msg === 'daemon running', '"daemon running"');
    url = String(line['console']).replace(/\/$/, '');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  afterAll(async () => {
    if (daemon && daemon.proc.exitCode === null) {
      daemon.proc.kill('SIGTERM');
      await daemon.exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a command in the daemon’s folder through the daemon instead of failing on the lock', async () => {
    const env = { CODOMYRMEX_AUTH_TOKEN: TOKEN };
    const list = await cli(dir, ['--json', 'workflow', 'list'], env);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((w) => w.name)).toContain('ai-analysis');
    const status = await cli(dir, ['--json', 'orchestration', 'status'], env);
    expect(status.code).toBe(0);
    // The daemon answers: its engine id, not a fresh embedded one.
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'running' });
    expect(
      daemon.lines.some(
        (l) =>
          l.msg === 'daemon running' && l['engineId'] === (JSON.parse(status.stdout) as { engineId: string }).engineId,
      ),
    ).toBe(true);
  });

  it('serves /metrics as OpenMetrics when the scrape asks for it, and the Prometheus text format otherwise', async () => {
    const om = await fetch(`${url}/metrics`, {
      headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' },
    });
    expect(om.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    const body = await om.text();
    expect(body.endsWith('\n# EOF\n')).toBe(true);
    expect(body).toContain('# TYPE codomyrmex_tasks counter\n');
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).not.toContain('# EOF');
    expect(text).toContain('# TYPE codomyrmex_tasks_total counter\n');
  });

  it('says the token is needed when it is missing', async () => {
    const list = await cli(dir, ['workflow', 'list'], { CODOMYRMEX_AUTH_TOKEN: '' });
    expect(list.code).not.toBe(0);
    expect(list.stderr).toMatch(/CODOMYRMEX_AUTH_TOKEN/);
  });

  it('talks to the daemon named by --daemon from another folder, and follows a run to its end', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'codomyrmex-clihttp-other-'));
    try {
      const env = { CODOMYRMEX_AUTH_TOKEN: TOKEN };
      const created = await fetch(`${url}/api/v1/cmd/workflow/create`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          definition: {
            name: 'two',
            steps: [
              { name: 'a', module: 'core', action: 'echo', parameters: { value: 7 } },
              { name: 'b', module: 'core', action: 'echo', parameters: { value: '{{a.output}}' }, dependencies: ['a'] },
            ],
          },
        }),
      });
      expect(created.status).toBe(200);
      const ran = await cli(elsewhere, ['--daemon', url, '--json', 'workflow', 'run', 'two'], env);
      expect(ran.stderr).toBe('');
      expect(JSON.parse(ran.stdout)).toMatchObject({ success: true, status: 'succeeded', steps: { b: { result: 7 } } });
      const run = await cli(elsewhere, ['--daemon', url, '--json', 'run', 'show', 'no-such-run'], env);
      expect(run.code).not.toBe(0);
      expect(run.stderr + run.stdout).toMatch(/no-such-run/);
      const tasks = await cli(elsewhere, ['--daemon', url, '--json', 'task', 'list'], env);
      expect(tasks.code).toBe(0);
      expect(Array.isArray(JSON.parse(tasks.stdout))).toBe(true);
      const bad = await cli(elsewhere, ['--daemon', 'localhost:1', 'task', 'list'], env);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/--daemon: must be the daemon's HTTP address/);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});
