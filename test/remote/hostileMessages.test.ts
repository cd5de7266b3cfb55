/**
 * Messages of the wrong shape on the remote-worker subjects, published by a hostile client on a real nats-server:
 * the daemon and the worker refuse each one naming the field (a log line), drop a bad work message from the stream
 * instead of redelivering it forever, let no fake worker join, and go on running real tasks.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { encode, remoteSubjects, workStreamName } from '../../src/workers/jetstream/protocol.js';
import type { Scene } from '../support/remote.js';
import { joined, serving, useRemoteScene, workerReady } from '../support/remote.js';

const remote = useRemoteScene();
let s: Scene;

describe('hostile messages on the remote-worker subjects', { timeout: 60_000 }, () => {
  it('are refused naming the field; no fake worker joins; a bad work message is dropped once; real tasks still run', async () => {
    s = await remote.scene();
    const d = s.daemon();
    await serving(d);
    const w = s.worker('real');
    await joined(d, 'real');
    const ready = await workerReady(w);
    const subjects = remoteSubjects(s.prefix);
    const nc = await connect({ servers: s.url });
    try {
      const raw = new TextEncoder();
      // To the daemon: a heartbeat missing its name, a result with an unknown outcome, a started count that is not a
      // number, a progress of no kind, bytes that are not JSON, and JSON nested 100,000 deep.
      nc.publish(
        subjects.heartbeat,
        encode({
          protocol: 3,
          id: 'fake',
          host: 'h',
          pid: 1,
          tags: [],
          modules: ['probe'],
          threads: 1,
          capacity: 8,
          version: '0',
          group: 'g',
          running: 0,
          startedAt: 0,
          ackWaitMs: 1000,
          holding: [],
        }),
      );
      nc.publish(
        subjects.result,
        encode({ dispatch: 'x:y:1', worker: 'fake', taskId: 'y', outcome: { type: 'bogus' } }),
      );
      nc.publish(subjects.started, encode({ dispatch: 'x:y:1', worker: 'fake', deliveries: 'many', attempt: 1 }));
      nc.publish(subjects.progress, encode({ dispatch: 'x:y:1', kind: 'shout', message: 'hi' }));
      nc.publish(subjects.result, raw.encode('{"dispatch": '));
      nc.publish(subjects.result, raw.encode(`${'['.repeat(100_000)}${']'.repeat(100_000)}`));
      // To the worker: a cancel of no kind, and a work message without its task, straight into its group's stream.
      nc.publish(subjects.cancel, encode({ dispatch: 'x:y:1', reason: 'because' }));
      await jetstream(nc).publish(
        subjects.work(String(ready['group'])),
        encode({ dispatch: 'x:z:1', daemon: 'x', module: 'probe', action: 'record', attempt: 1 }),
      );
    } finally {
      await nc.drain();
    }
    const refused = (field: RegExp) =>
      d.waitForLine(
        (l) => l.msg === 'bad message from a worker, ignored' && field.test(String(l['err'])),
        `a refusal naming ${String(field)}`,
      );
    await refused(/^workerInfo\.name: /);
    await refused(/^result\.outcome/);
    await refused(/^started\.deliveries: /);
    await refused(/^progress\.kind: /);
    await refused(/^result: not JSON/);
    await w.waitForLine(
      (l) => l.msg === 'bad cancel message, ignored' && /^cancel\.kind: /.test(String(l['err'])),
      'the cancel refusal',
    );
    const dropped = await w.waitForLine((l) => l.msg === 'bad work message, dropped', 'the dropped work message');
    expect(String(dropped['err'])).toMatch(/^work\./);

    // Only the real worker is known, and it still runs tasks.
    const bus = await s.bus();
    const result = await bus.request('task.execute', {
      task: { module: 'probe', action: 'record', parameters: { log: s.log, value: 'after' } },
    });
    expect(result).toMatchObject({ status: 'completed', result: 'after', worker: 'real' });
    const status = (await bus.request('engine.status', {})) as { workers?: { workers: { name: string }[] } };
    expect(status.workers?.workers.map((x) => x.name)).toEqual(['real']);
    // Dropped for good (+TERM): nothing of the group's consumer waits for an ack or a redelivery, and the worker saw
    // it once.
    const check = await connect({ servers: s.url });
    try {
      const info = await (
        await jetstreamManager(check)
      ).consumers.info(workStreamName(s.prefix), `G_${String(ready['group'])}`);
      expect({ pending: info.num_ack_pending, redelivered: info.num_redelivered }).toEqual({
        pending: 0,
        redelivered: 0,
      });
    } finally {
      await check.close();
    }
    expect(w.lines.filter((l) => l.msg === 'bad work message, dropped')).toHaveLength(1);
  });
});
