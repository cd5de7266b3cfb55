/**
 * Active and standby daemons on one real PostgreSQL database and one real NATS: two `codomyrmex daemon` child
 * processes. The standby serves /healthz (role standby) and /readyz (not ready) and nothing else; when the active
 * one is SIGKILLed mid-run the standby takes over within --failover-after and completes the run; when the active
 * one is SIGSTOPped past its lease the standby takes over, and the old one, SIGCONTed, writes no row and exits 4.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsBus } from '../../src/bus/nats.js';
import { followRun } from '../../src/edges/nats/client.js';
import { failoverArgs, startDaemon, type DaemonProcess } from '../support/daemon.js';
import { startNatsServer, type NatsServer } from '../support/nats.js';
import { sleepThenEcho } from '../helpers.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

let root: string;
let nats: NatsServer;
let db: TestPostgres;
const open: DaemonProcess[] = [];
const buses: NatsBus[] = [];
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'codomyrmex-failover-'));
  [nats, db] = await Promise.all([startNatsServer(), startPostgres()]);
}, 120_000);
afterAll(async () => {
  for (const b of buses) await b.close().catch(() => undefined);
  for (const d of open) {
    if (d.proc.exitCode === null && d.proc.signalCode === null) {
      d.proc.kill('SIGCONT');
      d.proc.kill('SIGKILL');
    }
  }
  await Promise.all(open.map((d) => d.exited));
  await Promise.all([nats?.dispose(), db?.destroy()]);
  await rm(root, { recursive: true, force: true });
});

function pair(url: string): { start: () => DaemonProcess; prefix: string } {
  const prefix = `fo${process.pid}x${++n}`;
  return {
    prefix,
    start: () => {
      const d = startDaemon(root, failoverArgs({ db: url, nats: nats.url, prefix, failoverAfter: '2s' }));
      open.push(d);
      return d;
    },
  };
}

/** Waits until the daemon is a standby that has seen the active one; resolves with its HTTP address. */
async function standby(d: DaemonProcess): Promise<string> {
  const line = await d.waitForLine((l) => l.msg === 'daemon standby', '"daemon standby"');
  await d.standingBy();
  return `http://${String(line['http'])}`;
}
const tookOver = (d: DaemonProcess): Promise<unknown> =>
  d.waitForLine((l) => l.msg.startsWith('took the lease'), '"took the lease"');

async function client(prefix: string): Promise<NatsBus> {
  const bus = await NatsBus.connect({ servers: nats.url, subjectPrefix: prefix, requestTimeoutMs: 5000 });
  buses.push(bus);
  return bus;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/** Every codomyrmex_ table's rows, as text, to compare before and after. */
async function snapshot(url: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = (
      await client.query<{ t: string }>(
        `SELECT tablename AS t FROM pg_tables WHERE tablename LIKE 'codomyrmex_%' ORDER BY 1`,
      )
    ).rows.map((r) => r.t);
    const out: Record<string, string> = {};
    for (const t of tables)
      out[t] =
        (
          await client.query<{ rows: string | null }>(
            `SELECT string_agg(x::text, '\n' ORDER BY x::text) AS rows FROM ${t} x`,
          )
        ).rows[0]?.rows ?? '';
    return out;
  } finally {
    await client.end();
  }
}

describe('active and standby daemons on PostgreSQL', () => {
  it('keeps the second daemon a standby, and it completes the run when the active one is SIGKILLed mid-run', async () => {
    const url = await db.createDatabase();
    const p = pair(url);
    const a = p.start();
    await a.servingNats();
    const b = p.start();
    const bHttp = await standby(b);
    const health = await get(`${bHttp}/healthz`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', role: 'standby' });
    expect((await get(`${bHttp}/readyz`)).status).toBe(503);
    expect((await get(`${bHttp}/metrics`)).body).toContain('codomyrmex_daemon_role{role="standby"} 1');
    // Asked for OpenMetrics, the role family still comes before the closing `# EOF` (nothing may follow it).
    const om = await (await fetch(`${bHttp}/metrics`, { headers: { accept: 'application/openmetrics-text' } })).text();
    expect(om.slice(-60)).toMatch(/codomyrmex_daemon_role\{role="standby"\} 1\n# EOF\n$/);
    const aHttp = await a.http();
    expect(JSON.parse((await get(`${aHttp}/healthz`)).body)).toMatchObject({ role: 'active' });
    expect((await get(`${aHttp}/metrics`)).body).toContain('codomyrmex_daemon_role{role="active"} 1');

    const bus = await client(p.prefix);
    const status = await bus.request('engine.status', {});
    expect((status['daemons'] as { peers: { role: string }[] }).peers.map((d) => d.role).sort()).toEqual([
      'active',
      'standby',
    ]);
    await bus.request('workflow.create', { definition: sleepThenEcho('crashy', 1500) });
    const started = firstValueFrom(bus.events$('step_started'));
    const { runId } = await bus.request('workflow.start', { name: 'crashy' });
    await started;
    a.proc.kill('SIGKILL');
    expect(await a.exited).toBe('SIGKILL');

    // Sent while no daemon serves commands: the standby answers for itself, so the request is sent again until the
    // new active daemon serves it, instead of failing with "no component serves". The new active daemon answers once
    // it has restored the state it took over (seconds on a loaded machine): the reply gets more than the default 5 s.
    const duringFailover = await bus.request('workflow.get_run', { runId }, { timeoutMs: 30_000 });
    expect(duringFailover?.runId).toBe(runId);
    // With no standby on a prefix, the same request fails at once.
    const nobody = await client(`${p.prefix}none`);
    await expect(nobody.request('workflow.get_run', { runId })).rejects.toThrow(
      /no component serves "workflow.get_run"/,
    );

    await tookOver(b);
    await b.servingNats();
    const recovery = await b.waitForLine(
      (l) => l.msg === 'recovered from the store' && l['component'] === 'workflowManager',
      'the recovery line',
    );
    expect(recovery).toMatchObject({ resumed: 1, ids: [runId] });
    expect(await followRun(bus, runId, { waitMs: 1000 })).toMatchObject({
      runId,
      success: true,
      steps: { second: { result: 'slept' } },
    });
    expect(JSON.parse((await get(`${bHttp}/healthz`)).body)).toMatchObject({ role: 'active' });
    expect((await get(`${bHttp}/readyz`)).status).toBe(200);
    expect((await get(`${bHttp}/metrics`)).body).toContain('codomyrmex_daemon_role{role="active"} 1');
    b.proc.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  });

  it('fences an active daemon paused past its lease: the standby takes over, and the old one, resumed, writes nothing and exits 4', async () => {
    const url = await db.createDatabase();
    const p = pair(url);
    const a = p.start();
    await a.servingNats();
    const b = p.start();
    await standby(b);
    const bus = await client(p.prefix);
    await bus.request('workflow.create', { definition: sleepThenEcho('paused', 1500) });
    const started = firstValueFrom(bus.events$('step_started'));
    const { runId } = await bus.request('workflow.start', { name: 'paused' });
    await started;
    a.proc.kill('SIGSTOP');

    await tookOver(b);
    await b.servingNats();
    // The stopped daemon is still subscribed (NATS drops it only after missed pings, minutes later). Every command
    // reaches the daemon that took over: none is left to the stopped one until it times out.
    for (let i = 0; i < 12; i++) await bus.request('task.stats', {}, { timeoutMs: 3000 });
    expect(await followRun(bus, runId, { waitMs: 1000 })).toMatchObject({ runId, success: true });
    b.proc.kill('SIGTERM');
    expect(await b.exited).toBe(0);

    const before = await snapshot(url);
    a.proc.kill('SIGCONT');
    expect(await a.exited).toBe(4);
    expect(a.lines.map((l) => l.msg)).toContain(
      'lease lost: another daemon is active; this one stops without writing and exits',
    );
    expect(await snapshot(url)).toEqual(before);
  });
});
