/**
 * Sticky runs (`affinity: "run"`) on a real nats-server, with a daemon that has no threads of its own and two
 * `codomyrmex worker` processes of one group, each in its own folder: every step of a run lands on the worker its
 * first step started on; when that worker is SIGKILLed between steps, the run goes on on the other, its artifacts
 * fetched from the Object Store.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Scene } from '../support/remote.js';
import { joined, serving, until, useRemoteScene } from '../support/remote.js';

const remote = useRemoteScene();
let s: Scene;

/** Two workers of one group (same modules, no tags), each in a folder of its own. */
async function twoWorkers(): Promise<{
  d: ReturnType<Scene['daemon']>;
  a: ReturnType<Scene['worker']>;
  b: ReturnType<Scene['worker']>;
}> {
  const folders = [join(s.root, 'host-a'), join(s.root, 'host-b')] as const;
  await Promise.all(folders.map((f) => mkdir(f)));
  const d = s.daemon();
  await serving(d);
  const a = s.worker('wa', [], 1, true, folders[0]);
  const b = s.worker('wb', [], 1, true, folders[1]);
  await Promise.all([joined(d, 'wa'), joined(d, 'wb')]);
  return { d, a, b };
}

describe('sticky runs', { timeout: 120_000 }, () => {
  it('affinity: "run" keeps every step of a run on the worker its first step started on, for runs side by side', async () => {
    s = await remote.scene();
    await twoWorkers();
    const bus = await s.bus();
    const definition = (n: number) => ({
      name: `sticky-${n}`,
      affinity: 'run',
      steps: [
        {
          name: 'make',
          module: 'probe',
          action: 'produce',
          parameters: { file: `made-${n}.txt`, content: `run ${n}` },
        },
        {
          name: 'left',
          module: 'probe',
          action: 'consume',
          parameters: { file: '{{make.artifacts.out}}' },
          dependencies: ['make'],
        },
        {
          name: 'right',
          module: 'probe',
          action: 'record',
          parameters: { log: s.log, ms: 20 },
          dependencies: ['make'],
        },
        {
          name: 'last',
          module: 'probe',
          action: 'record',
          parameters: { log: s.log },
          dependencies: ['left', 'right'],
        },
        // Out of the run's affinity: goes wherever there is room.
        { name: 'free', module: 'core', action: 'echo', parameters: { value: n }, affinity: 'none' },
      ],
    });
    const runs = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) => bus.request('workflow.execute_complex', { definition: definition(n) })),
    );
    const used = new Set<string>();
    for (const r of runs) {
      expect(r.status).toBe('succeeded');
      const workers = ['make', 'left', 'right', 'last'].map((step) => r.steps[step]?.worker);
      expect(new Set(workers).size, `run ${r.runId}: ${workers.join(', ')}`).toBe(1);
      expect(['wa', 'wb']).toContain(workers[0]);
      used.add(workers[0] as string);
      // The step on the same worker still reads its artifact from this run's folder.
      expect((r.steps['left']?.result as { content: string }).content).toMatch(/^run \d$/);
    }
    // Runs are spread over both workers: a run sticks, the daemon does not.
    expect(used).toEqual(new Set(['wa', 'wb']));
  });

  it('a sticky run whose worker is SIGKILLed between steps goes on on the other worker, with its artifacts', async () => {
    s = await remote.scene();
    const { d, a, b } = await twoWorkers();
    const bus = await s.bus();
    const definition = {
      name: 'sticky-loss',
      affinity: 'run',
      steps: [
        {
          name: 'make',
          module: 'probe',
          action: 'produce',
          parameters: { file: 'made.txt', content: 'made before the loss' },
        },
        { name: 'gate', waitFor: { signal: 'go' }, dependencies: ['make'] },
        {
          name: 'use',
          module: 'probe',
          action: 'consume',
          parameters: { file: '{{make.artifacts.out}}' },
          dependencies: ['gate'],
        },
      ],
    };
    const { runId } = await bus.request('workflow.start_complex', { definition });
    let first: string | undefined;
    await until(async () => {
      const run = await bus.request('workflow.get_run', { runId });
      first = run?.steps['make']?.status === 'completed' ? run.steps['make'].worker : undefined;
      return first !== undefined;
    }, 'the first step to complete');
    const [gone, other] = first === 'wa' ? [a, 'wb'] : [b, 'wa'];
    gone.proc.kill('SIGKILL');
    await d.waitForLine(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('worker lost') && l['worker'] === first,
      `"worker lost" for ${first}`,
    );
    expect((await bus.request('workflow.signal', { runId, signal: 'go' })).delivered).toBe(true);
    const r = await bus.request('workflow.wait_run', { runId });
    expect(r.status, JSON.stringify(r.steps)).toBe('succeeded');
    expect(r.steps['use']).toMatchObject({ worker: other, result: { content: 'made before the loss' } });
    expect((r.steps['use']?.result as { cwd: string }).cwd.endsWith(other === 'wa' ? 'host-a' : 'host-b')).toBe(true);
  });
});
