/**
 * Concurrency keys across remote workers, all real processes: the daemon admits for every worker, so a per-key
 * limit of 1 holds across two `codomyrmex worker` processes with two threads each, while other keys use the
 * remaining slots on both.
 */
import { describe, expect, it } from 'vitest';
import type { Scene } from '../support/remote.js';
import { joined, ranOn, serving, useRemoteScene } from '../support/remote.js';

const remote = useRemoteScene();
let s: Scene;

describe('concurrency keys with remote workers', { timeout: 90_000 }, () => {
  it('a per-key limit of 1 holds across two worker processes', async () => {
    s = await remote.scene();
    const d = s.daemon();
    await serving(d);
    const a = s.worker('a', [], 2);
    const b = s.worker('b', [], 2);
    await Promise.all([joined(d, 'a'), joined(d, 'b')]);
    const bus = await s.bus();
    const keyOf = new Map<string, string>();
    const running = new Map<string, number>();
    const peak = new Map<string, number>();
    const sub = bus.events$().subscribe((e) => {
      const id = 'taskId' in e.data ? e.data.taskId : undefined;
      const key = id === undefined ? undefined : keyOf.get(id);
      if (key === undefined) return;
      if (e.type === 'task_started') {
        const n = (running.get(key) ?? 0) + 1;
        running.set(key, n);
        peak.set(key, Math.max(peak.get(key) ?? 0, n));
      } else if (
        e.type === 'task_completed' ||
        e.type === 'task_failed' ||
        e.type === 'task_retrying' ||
        e.type === 'task_timed_out' ||
        e.type === 'task_cancelled'
      ) {
        running.set(key, (running.get(key) ?? 1) - 1);
      }
    });
    const ids: string[] = [];
    const submit = async (i: number, key: string): Promise<void> => {
      const id = `t${i}-${key}`;
      keyOf.set(id, key);
      ids.push(id);
      await bus.request('task.submit', {
        task: {
          id,
          module: 'probe',
          action: 'record',
          parameters: { log: s.log, ms: 250, value: i },
          concurrency: { key, limit: 1 },
        },
      });
    };
    for (let i = 0; i < 6; i++) await submit(i, 'repo');
    for (let i = 0; i < 6; i++) await submit(i, `other-${i % 3}`);
    const results = await Promise.all(ids.map((taskId) => bus.request('task.wait', { taskId })));
    sub.unsubscribe();
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 'completed'));
    expect(peak.get('repo')).toBe(1);
    for (let k = 0; k < 3; k++) expect(peak.get(`other-${k}`)).toBe(1);
    // Both workers took part: the limit held across processes, not because one worker ran everything.
    expect(ids.some((id) => ranOn(a, id))).toBe(true);
    expect(ids.some((id) => ranOn(b, id))).toBe(true);
    expect(
      ids.filter((id) => keyOf.get(id) === 'repo').some((id) => ranOn(a, id)) ||
        ids.filter((id) => keyOf.get(id) === 'repo').some((id) => ranOn(b, id)),
    ).toBe(true);
  });
});
