/**
 * Exactly once per slot, with real processes and a real SQLite file: a daemon SIGKILLed between a slot's claim and
 * its run's start runs that slot once after a restart, and restarts in a row never run a slot twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OrchestrationEngine } from '../../src/index.js';
import { slotRunId } from '../../src/actors/schedules/slots.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { WorkflowRun } from '../../src/model/run.js';
import { startDaemon } from '../support/daemon.js';
import type { DaemonProcess } from '../support/daemon.js';

const dir = mkdtempSync(join(tmpdir(), 'cdx-daemon-sched-'));
const db = join(dir, 'state.db');
const env = { CODOMYRMEX_DB: db, CODOMYRMEX_WORKFLOW_DIRS: '' };
const running: DaemonProcess[] = [];

afterAll(() => {
  for (const d of running) d.proc.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function daemon(extra: NodeJS.ProcessEnv = {}): DaemonProcess {
  const d = startDaemon(dir, [], { ...env, ...extra });
  running.push(d);
  return d;
}

async function stop(d: DaemonProcess): Promise<void> {
  d.proc.kill('SIGTERM');
  expect(await d.exited).toBe(0);
}

interface ScheduleRecordData {
  claimed: { slot: number; runId: string }[];
}

function readStore<T>(fn: (store: SqliteStore) => T): T {
  const store = SqliteStore.open({ path: db, readonly: true });
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

describe('daemon schedules (child processes, SQLite)', () => {
  it('a slot claimed before a SIGKILL runs once after the restart; restarts never run a slot twice', async () => {
    // The schedule is stored by an engine that does not fire it (as the one-shot CLI does).
    const setup = new OrchestrationEngine({
      store: 'sqlite',
      dbPath: db,
      threads: 1,
      workflowDirs: [],
      fireSchedules: false,
      metrics: { enabled: false },
    });
    await setup.ready();
    await setup
      .getWorkflowManager()
      .createWorkflow('stamp', [{ name: 'a', module: 'core', action: 'echo', parameters: { value: 1 } }]);
    await setup.createSchedule({ name: 'tick', workflow: 'stamp', every: '1s', overlap: 'allow' });
    await setup.shutdown();

    // 1. The first daemon claims a slot and dies before starting its run.
    const crashing = daemon({ CODOMYRMEX_FAILPOINT: 'schedule.after_claim' });
    expect(await crashing.exited).toBe('SIGKILL');
    const claimed = readStore((s) => s.getRecord<ScheduleRecordData>('schedules', 'tick')?.data.claimed ?? []);
    expect(claimed).toHaveLength(1);
    const slot = claimed[0]!;
    expect(slot.runId).toBe(slotRunId('tick', slot.slot));
    expect(readStore((s) => s.getRecord('workflow_runs', slot.runId))).toBeUndefined();

    // 2. The restarted daemon re-drives the claimed slot: its run starts and completes.
    const second = daemon();
    await second.waitForLine(
      (l) => l.msg === 'workflow completed' && l['runId'] === slot.runId,
      `the claimed slot's run ${slot.runId} completing`,
    );
    await second.waitForLine(
      (l) => l.msg === 'schedule fired' && Number(l['scheduledFor']) > slot.slot,
      'a later slot firing',
    );
    await stop(second);

    // 3. Two more restarts in a row.
    for (let i = 0; i < 2; i++) {
      const d = daemon();
      await d.waitForLine((l) => l.msg === 'schedule fired', 'a slot firing');
      await stop(d);
    }

    const runs = readStore((s) => s.listRecords<{ run: WorkflowRun }>('workflow_runs').map((r) => r.data.run));
    const scheduled = runs.filter((r) => r.scheduleName === 'tick');
    expect(scheduled.length).toBeGreaterThanOrEqual(3);
    // One run per slot: every run's id is its slot's, and no slot has two runs.
    const slots = scheduled.map((r) => r.scheduledFor!);
    expect(new Set(slots).size).toBe(slots.length);
    for (const r of scheduled) expect(r.runId).toBe(slotRunId('tick', r.scheduledFor!));
    const redriven = scheduled.find((r) => r.runId === slot.runId);
    expect(redriven?.status).toBe('succeeded');
    expect(redriven?.steps['a']?.attempts).toBe(1);
    // The SIGKILLed claim is gone. Claims may remain from the last drain (a loaded machine can claim several slots
    // before the drain ends): each is a later slot, named by its own run id, re-driven at the next start.
    const left = readStore((s) => s.getRecord<ScheduleRecordData>('schedules', 'tick')?.data.claimed ?? []);
    expect(left.map((c) => c.runId)).not.toContain(slot.runId);
    for (const c of left) {
      expect(c.slot).toBeGreaterThan(slot.slot);
      expect(c.runId).toBe(slotRunId('tick', c.slot));
    }
  }, 120_000);
});
