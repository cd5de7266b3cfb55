import { setTimeout as delay } from 'node:timers/promises';
import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsBus, type NatsBusStatus } from '../../src/bus/nats.js';
import { BusError, ErrorCode } from '../../src/errors.js';
import { startNatsServer, type NatsServer } from '../support/nats.js';
import { answering } from '../support/handlers.js';

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server.dispose();
});

const reached = (bus: NatsBus, status: NatsBusStatus) =>
  firstValueFrom(bus.status$().pipe(filter((s) => s === status)));

describe('NatsBus across a nats-server restart', () => {
  it('reports reconnecting while the server is gone, reconnects by itself, and serves again', async () => {
    const opts = { servers: server.url, subjectPrefix: `r${process.pid}`, connection: { reconnectTimeWait: 50 } };
    const daemon = await NatsBus.connect(opts);
    const client = await NatsBus.connect(opts);
    try {
      let handled = 0;
      daemon.serve(
        'task',
        answering('task', (cmd) => (cmd.type === 'task.get' ? { n: ++handled, taskId: cmd.payload.taskId } : null)),
      );
      await daemon.ready();
      await expect(client.request('task.get', { taskId: 'before' })).resolves.toEqual({ n: 1, taskId: 'before' });
      const history = firstValueFrom(daemon.status$().pipe(toArray()));

      const down = Promise.all([reached(daemon, 'reconnecting'), reached(client, 'reconnecting')]);
      await server.stop();
      await down;
      expect(daemon.connected).toBe(false);
      // Events published while NATS is down are held, then sent in order once it is back.
      const logs = firstValueFrom(daemon.events$('task_log').pipe(take(3), toArray()));
      for (const message of ['a', 'b', 'c'])
        daemon.publish('task_log', { taskId: 't', name: 'n', attempt: 1, level: 'info', message });
      expect(daemon.eventCounters().backlog).toBe(3);
      // The limit still holds while the server is away: the client forgets the server's info once it redials.
      while (daemon.connection.info !== undefined) await delay(5);
      expect(() =>
        daemon.publish('task_log', {
          taskId: 't',
          name: 'n',
          attempt: 1,
          level: 'info',
          message: 'x'.repeat(daemon.maxPayload!),
        }),
      ).toThrow(/over the NATS server's max_payload/);
      await expect(daemon.request('task.get', { taskId: 'x'.repeat(daemon.maxPayload!) })).rejects.toThrow(
        /over the NATS server's max_payload/,
      );
      // Asked while NATS is down: the client holds the request and sends it once reconnected.
      const during = daemon.request('task.get', { taskId: 'during' }, { timeoutMs: 20_000 });

      const up = Promise.all([reached(daemon, 'connected'), reached(client, 'connected')]);
      await server.start();
      await up;
      await expect(during).resolves.toEqual({ n: 2, taskId: 'during' });
      expect((await logs).map((e) => (e.data as { message: string }).message)).toEqual(['a', 'b', 'c']);
      expect(daemon.eventCounters()).toMatchObject({ backlog: 0, dropped: 0 });
      await daemon.ready();
      await expect(client.request('task.get', { taskId: 'after' })).resolves.toEqual({ n: 3, taskId: 'after' });

      await daemon.close();
      expect(await history).toEqual(['connected', 'reconnecting', 'connected', 'closed']);
    } finally {
      await Promise.all([daemon.close(), client.close()]);
    }
  });

  it('refuses a request with a BusError when NATS stays down past its timeout', async () => {
    const bus = await NatsBus.connect({
      servers: server.url,
      subjectPrefix: `r${process.pid}.down`,
      connection: { reconnectTimeWait: 50 },
    });
    try {
      bus.serve(
        'task',
        answering('task', () => 1),
      );
      const down = reached(bus, 'reconnecting');
      await server.stop();
      await down;
      const err = await bus.request('task.get', { taskId: 'x' }, { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BusError);
      expect(err).toMatchObject({ code: ErrorCode.BUS_TIMEOUT, retryable: true });
      expect((err as Error).message).toMatch(/NATS is still reconnecting after 200 ms/);
      const up = reached(bus, 'connected');
      await server.start();
      await up;
      await expect(bus.request('task.get', { taskId: 'x' })).resolves.toBe(1);
    } finally {
      await bus.close();
    }
  });
});
