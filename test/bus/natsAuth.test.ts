import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsBus } from '../../src/bus/nats.js';
import { NotFoundError } from '../../src/errors.js';
import { startNatsServer, type NatsServer } from '../support/nats.js';
import { answering } from '../support/handlers.js';

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer({
    config: `authorization {
  users = [
    { user: "daemon", password: "s3cret" }
    { user: "limited", password: "s3cret", permissions: { subscribe: { allow: ["_INBOX.>", "auth.evt.>"] } } }
  ]
}
`,
  });
});
afterAll(async () => {
  await server.dispose();
});

describe('NatsBus with credentials and permissions', () => {
  it('connects with the user and password given in its connection options', async () => {
    await expect(
      NatsBus.connect({
        servers: server.url,
        subjectPrefix: 'auth',
        connection: { user: 'daemon', pass: 'wrong', maxReconnectAttempts: 0 },
      }),
    ).rejects.toThrow(/Authorization/i);
    const bus = await NatsBus.connect({
      servers: server.url,
      subjectPrefix: 'auth',
      connection: { user: 'daemon', pass: 's3cret' },
    });
    bus.serve(
      'task',
      answering('task', () => 'served'),
    );
    await expect(bus.request('task.get', { taskId: 'x' })).resolves.toBe('served');
    await bus.close();
  });

  it('says why a component it may not serve gets no commands', async () => {
    const bus = await NatsBus.connect({
      servers: server.url,
      subjectPrefix: 'auth',
      connection: { user: 'limited', pass: 's3cret' },
    });
    try {
      bus.serve(
        'task',
        answering('task', () => 'served'),
      );
      await bus.ready();
      await expect(bus.request('task.get', { taskId: 'x' }, { timeoutMs: 2000 })).rejects.toBeInstanceOf(NotFoundError);
      expect(bus.lastError?.message).toMatch(/permissions violation for subscription to "auth\.cmd\.task\.>"/i);
      expect(bus.status).toBe('connected');
    } finally {
      await bus.close();
    }
  });
});
