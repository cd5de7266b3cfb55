import { connect, type NatsConnection } from '@nats-io/transport-node';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NatsBus } from '../../src/bus/nats.js';
import type { CommandType } from '../../src/bus/protocol.js';
import { ActionError, ErrorCode, NotFoundError, ValidationError } from '../../src/errors.js';
import { startNatsServer, type NatsServer } from '../support/nats.js';
import { busConformance } from './conformance.js';
import { answering, type SeenCommand } from '../support/handlers.js';

let server: NatsServer;
let n = 0;
/** A prefix per bus: tests on one server never reach each other's components. */
const prefix = () => `t${process.pid}.b${++n}`;

beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server.dispose();
});

busConformance('NatsBus', () => NatsBus.connect({ servers: server.url, subjectPrefix: prefix() }));

describe('NatsBus at the boundary', () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  const bus = async (subjectPrefix = prefix()): Promise<NatsBus> => {
    const b = await NatsBus.connect({ servers: server.url, subjectPrefix });
    open.push(b);
    return b;
  };
  const raw = async (): Promise<NatsConnection> => {
    const nc = await connect({ servers: server.url });
    open.push(nc);
    return nc;
  };
  /** A bus serving `task`, recording the commands its handler saw. */
  const served = async () => {
    const b = await bus();
    const seen: SeenCommand[] = [];
    b.serve(
      'task',
      answering('task', (cmd) => {
        seen.push(cmd);
        return { type: cmd.type, payload: cmd.payload };
      }),
    );
    b.serve(
      'workflow',
      answering('workflow', (cmd) => {
        seen.push(cmd);
        return { type: cmd.type, payload: cmd.payload };
      }),
    );
    b.serve(
      'session',
      answering('session', (cmd) => {
        seen.push(cmd);
        return { type: cmd.type, payload: cmd.payload };
      }),
    );
    await b.ready();
    const nc = await raw();
    const ask = async (
      subject: string,
      body: string | Uint8Array = '',
    ): Promise<{
      ok: boolean;
      result?: unknown;
      error?: { code: string; name: string; message: string; issues: string[]; retryable: boolean };
    }> => (await nc.request(`${b.subjectPrefix}.cmd.${subject}`, body, { timeout: 5000 })).json();
    return { b, seen, ask, nc };
  };

  it('puts commands on <prefix>.cmd.<component>.<verb> and answers { ok: true, result }', async () => {
    const { b, ask } = await served();
    expect(b.commandSubject('workflow.execute')).toBe(`${b.subjectPrefix}.cmd.workflow.execute`);
    await expect(ask('task.get', JSON.stringify({ taskId: 'a1' }))).resolves.toEqual({
      ok: true,
      result: { type: 'task.get', payload: { taskId: 'a1' } },
    });
    // An empty body is an empty request, for commands that take none.
    await expect(ask('task.stats')).resolves.toEqual({ ok: true, result: { type: 'task.stats', payload: {} } });
  });

  it('answers malformed JSON with a VALIDATION error reply and keeps serving', async () => {
    const { seen, ask } = await served();
    const reply = await ask('task.get', '{"taskId": "a1",');
    expect(reply.ok).toBe(false);
    expect(reply.error).toMatchObject({ code: ErrorCode.VALIDATION, name: 'ValidationError', retryable: false });
    expect(reply.error?.message).toMatch(/^payload: not valid JSON/);
    expect(reply.error?.issues).toHaveLength(1);
    expect(seen).toHaveLength(0);
    await expect(ask('task.get', '{"taskId":"a2"}')).resolves.toMatchObject({ ok: true });
  });

  it('answers an unknown verb with NOT_FOUND naming the nearest command', async () => {
    const { seen, ask } = await served();
    const reply = await ask('task.gett', '{"taskId":"a1"}');
    expect(reply.error).toMatchObject({ code: ErrorCode.NOT_FOUND, name: 'NotFoundError' });
    expect(reply.error?.message).toMatch(/unknown command "task.gett" \(did you mean "task.get"\?\)/);
    await expect(ask('task.get.extra', '{"taskId":"a1"}')).resolves.toMatchObject({
      ok: false,
      error: { code: ErrorCode.NOT_FOUND },
    });
    // A verb of another component, sent to this component's subject tree, is not served by it.
    await expect(ask('task.list_runs', '{}')).resolves.toMatchObject({
      ok: false,
      error: { code: ErrorCode.NOT_FOUND },
    });
    expect(seen).toHaveLength(0);
  });

  it('gives a NotFoundError for a component nobody serves', async () => {
    const { b } = await served();
    const err = await b.request('resource.list', {}, { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toMatch(/no component serves "resource.list"/);
  });

  it('answers wrong types with issues that name each field', async () => {
    const { seen, ask } = await served();
    const a = await ask('task.get', JSON.stringify({ taskId: 5 }));
    expect(a.error?.code).toBe(ErrorCode.VALIDATION);
    expect(a.error?.issues).toEqual([expect.stringMatching(/^payload\.taskId: /)]);
    const b = await ask(
      'task.add',
      JSON.stringify({
        tasks: [
          { module: 'core', action: 'noop' },
          { module: 'core', action: 'noop', max_retries: 'three', timeout: -1 },
        ],
      }),
    );
    expect(b.error?.issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^payload\.tasks\[1\]\.maxRetries: /),
        expect.stringMatching(/^payload\.tasks\[1\]\.timeout: must be a positive number of seconds/),
      ]),
    );
    const c = await ask('task.get', JSON.stringify({ taskId: 'x', extra: true }));
    expect(c.error?.issues).toEqual(['payload: unknown field(s) "extra"; remove or rename them']);
    const d = await ask('task.get', '[1,2]');
    expect(d.error?.code).toBe(ErrorCode.VALIDATION);
    const e = await ask('task.get', JSON.stringify({ taskId: 'x', task_id: 'y' }));
    expect(e.error?.issues).toEqual(['payload.taskId: given twice, as "taskId" and as "task_id"; keep one']);
    expect(seen).toHaveLength(0);
  });

  it("accepts the seed's snake_case names and hands the handler camelCase", async () => {
    const { seen, ask } = await served();
    await expect(
      ask(
        'workflow.execute',
        JSON.stringify({ workflow_name: 'ai_analysis', parameters: { code_path: 'src' }, session_id: 's1' }),
      ),
    ).resolves.toMatchObject({ ok: true });
    await expect(
      ask(
        'task.add',
        JSON.stringify({
          tasks: [
            {
              module: 'core',
              action: 'echo',
              max_retries: 2,
              idempotency_key: 'k',
              session_id: 's1',
              retry: { initial_delay: 0.5, max_delay: 4 },
            },
          ],
        }),
      ),
    ).resolves.toMatchObject({ ok: true });
    await expect(
      ask('session.create', JSON.stringify({ user_id: 'u1', mode: 'resource_aware', max_parallel_tasks: 4 })),
    ).resolves.toMatchObject({ ok: true });
    await expect(ask('task.cancel', JSON.stringify({ task_id: 't1' }))).resolves.toMatchObject({ ok: true });
    expect(seen.map((c) => c.payload)).toEqual([
      // Keys inside parameters stay as sent.
      { name: 'ai_analysis', params: { code_path: 'src' }, sessionId: 's1' },
      {
        tasks: [
          {
            module: 'core',
            action: 'echo',
            maxRetries: 2,
            idempotencyKey: 'k',
            sessionId: 's1',
            retry: { initialDelay: 0.5, maxDelay: 4 },
          },
        ],
      },
      { userId: 'u1', mode: 'resource_aware', maxParallelTasks: 4 },
      { taskId: 't1' },
    ]);
  });

  it('carries handler failures back with their code, and a ValidationError with every issue', async () => {
    const b = await bus();
    b.serve(
      'task',
      answering('task', (cmd) => {
        if (cmd.type === 'task.get') throw new Error('disk on fire');
        throw new ValidationError([
          'tasks[0].module: unknown module "cor" (did you mean "core"?)',
          'tasks[1].action: unknown action',
        ]);
      }),
    );
    const plain = await b.request('task.get', { taskId: 'x' }).catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(ActionError);
    expect(plain).toMatchObject({ code: ErrorCode.ACTION_FAILED, message: 'disk on fire' });
    const invalid = await b.request('task.add', { tasks: [] }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ValidationError);
    expect((invalid as ValidationError).issues).toEqual([
      'tasks[0].module: unknown module "cor" (did you mean "core"?)',
      'tasks[1].action: unknown action',
    ]);
    expect(b.stats()).toMatchObject({ requests: 2, failures: 2 });
  });

  it('refuses an oversized request on the sending side, naming its size and the limit', async () => {
    const b = await bus();
    let calls = 0;
    b.serve(
      'task',
      answering('task', () => ++calls),
    );
    const limit = b.maxPayload!;
    expect(limit).toBeGreaterThan(0);
    const big = 'x'.repeat(limit + 10);
    const err = await b
      .request('task.add', { tasks: [{ module: 'core', action: 'echo', parameters: { big } }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(
      new RegExp(`request "task.add": \\d+ bytes is over the NATS server's max_payload of ${limit} bytes`),
    );
    expect(() => b.publish('task_log', { taskId: 't', name: 'n', attempt: 1, level: 'info', message: big })).toThrow(
      /event "task_log": \d+ bytes is over the NATS server's max_payload/,
    );
    // The connection was not touched: the same bus still works.
    expect(b.status).toBe('connected');
    await expect(b.request('task.get', { taskId: 'x' })).resolves.toBe(1);
    expect(calls).toBe(1);
  });

  it('turns an oversized reply into an error reply rather than dropping it', async () => {
    const b = await bus();
    const limit = b.maxPayload!;
    b.serve(
      'task',
      answering('task', () => ({ blob: 'y'.repeat(limit) })),
    );
    const err = await b.request('task.list', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(/reply to "task.list": \d+ bytes is over the NATS server's max_payload/);
  });

  it('delivers events across processes sharing a prefix, and skips messages that are not events', async () => {
    const a = await bus();
    const b = await bus(a.subjectPrefix);
    const got = firstValueFrom(b.events$().pipe(take(2), toArray()));
    const typed = firstValueFrom(b.events$('engine_stopped').pipe(take(1), toArray()));
    await b.ready();
    const nc = await raw();
    nc.publish(`${a.subjectPrefix}.evt.engine_started`, 'not json');
    nc.publish(
      `${a.subjectPrefix}.evt.no_such_event`,
      JSON.stringify({ type: 'no_such_event', data: {}, timestamp: 1, seq: 1 }),
    );
    await nc.flush();
    a.publish('engine_started', { engineId: 'e1', threads: 2 });
    a.publish('engine_stopped', { engineId: 'e1' });
    const events = await got;
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['engine_started', { engineId: 'e1', threads: 2 }],
      ['engine_stopped', { engineId: 'e1' }],
    ]);
    expect(events[1]!.seq).toBe(events[0]!.seq + 1);
    expect((await typed).map((e) => e.type)).toEqual(['engine_stopped']);
    expect(b.eventCounters()).toEqual({ malformed: 2, dropped: 0, backlog: 0 });
  });

  it('runs each command once when two processes serve the same component', async () => {
    const client = await bus();
    const one = await bus(client.subjectPrefix);
    const two = await bus(client.subjectPrefix);
    const handled: string[] = [];
    one.serve(
      'task',
      answering('task', (cmd) => handled.push(`one:${(cmd.payload as { taskId: string }).taskId}`)),
    );
    two.serve(
      'task',
      answering('task', (cmd) => handled.push(`two:${(cmd.payload as { taskId: string }).taskId}`)),
    );
    await Promise.all([one.ready(), two.ready()]);
    const ids = Array.from({ length: 40 }, (_, i) => `t${i}`);
    await Promise.all(ids.map((taskId) => client.request('task.get', { taskId })));
    expect(handled.map((h) => h.split(':')[1]).sort()).toEqual([...ids].sort());
  });

  it('refuses a bad subject prefix, naming the option', async () => {
    await expect(NatsBus.connect({ servers: server.url, subjectPrefix: 'a.*' })).rejects.toThrow(
      /^subjectPrefix: "a\.\*" is not a NATS subject prefix/,
    );
    const b = await bus();
    // The compiler refuses a component that is none; NATS checks again for callers from plain JavaScript.
    // @ts-expect-error -- not a component
    expect(() => b.serve('Task.x', {})).toThrow(ValidationError);
    const err = await b.request('nope.verb' as CommandType, {}, { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
  });
});
