/**
 * The command API as a NATS service: `$SRV.PING|INFO|STATS` answered on a real nats-server, with one endpoint per
 * command, its request schema, and counts that follow the requests served.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsBus } from '../../src/bus/nats.js';
import { serveDiscovery } from '../../src/bus/natsService.js';
import { COMMAND_TYPES } from '../../src/bus/schemas.js';
import { startNatsServer, type NatsServer } from '../support/nats.js';
import { answering } from '../support/handlers.js';

let server: NatsServer;
let bus: NatsBus;
let nc: NatsConnection;
let stop: () => void;
const prefix = `svc${process.pid}`;

beforeAll(async () => {
  server = await startNatsServer();
  bus = await NatsBus.connect({ servers: server.url, subjectPrefix: prefix });
  bus.serve(
    'task',
    answering('task', (command) => {
      if (command.type === 'task.get') return null;
      throw new Error('not here');
    }),
  );
  stop = serveDiscovery(bus, { version: '9.9.9', description: 'test' });
  await bus.ready();
  nc = await connect({ servers: server.url });
});
afterAll(async () => {
  stop();
  await nc.close();
  await bus.close();
  await server.dispose();
});

const ask = async (subject: string): Promise<Record<string, unknown>> =>
  (await nc.request(subject, '', { timeout: 2000 })).json<Record<string, unknown>>();

describe('NATS service discovery', () => {
  it('answers PING under every form of the subject, with the same id', async () => {
    const all = await ask('$SRV.PING');
    expect(all).toMatchObject({ type: 'io.nats.micro.v1.ping_response', name: prefix, version: '9.9.9' });
    const byName = await ask(`$SRV.PING.${prefix}`);
    const byId = await ask(`$SRV.PING.${prefix}.${String(all['id'])}`);
    expect(byName['id']).toBe(all['id']);
    expect(byId['id']).toBe(all['id']);
  });

  it('lists one endpoint per command with its subject, queue group and request schema', async () => {
    const info = await ask(`$SRV.INFO.${prefix}`);
    expect(info['type']).toBe('io.nats.micro.v1.info_response');
    const endpoints = info['endpoints'] as {
      name: string;
      subject: string;
      queue_group: string;
      metadata: { schema: string };
    }[];
    expect(endpoints.map((e) => e.name).sort()).toEqual([...COMMAND_TYPES].sort());
    const get = endpoints.find((e) => e.name === 'task.get');
    expect(get).toMatchObject({ subject: `${prefix}.cmd.task.get`, queue_group: `${prefix}.cmd.task` });
    const schema = JSON.parse(get?.metadata.schema ?? '{}') as {
      properties?: Record<string, unknown>;
      required?: string[];
    };
    expect(Object.keys(schema.properties ?? {})).toContain('taskId');
  });

  it('counts requests and errors per endpoint', async () => {
    await bus.request('task.get', { taskId: 'a' });
    await bus.request('task.get', { taskId: 'b' });
    await expect(bus.request('task.stats', {})).rejects.toThrow('not here');
    const stats = await ask(`$SRV.STATS.${prefix}`);
    const endpoints = stats['endpoints'] as {
      name: string;
      num_requests: number;
      num_errors: number;
      last_error: string;
      processing_time: number;
    }[];
    const get = endpoints.find((e) => e.name === 'task.get');
    const st = endpoints.find((e) => e.name === 'task.stats');
    expect(get).toMatchObject({ num_requests: 2, num_errors: 0 });
    expect(get?.processing_time).toBeGreaterThan(0);
    expect(st).toMatchObject({ num_requests: 1, num_errors: 1 });
    expect(st?.last_error).toMatch(/not here/);
  });
});
