/**
 * Typed command handlers: the compiler checks a component's handler map against the protocol, and the reply a
 * client gets has the type the handler returned. The type assertions are checked by `tsc` (npm run typecheck);
 * the runtime ones by vitest.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { CommandHandlers } from '../../src/bus/bus.js';
import { routeCommands } from '../../src/bus/bus.js';
import { InMemoryBus } from '../../src/bus/memory.js';
import type { CommandReply, SystemStatus } from '../../src/bus/protocol.js';
import { NotFoundError } from '../../src/errors.js';
import type { Session } from '../../src/model/session.js';

const session: Session = {
  sessionId: 's1',
  userId: 'u',
  mode: 'parallel',
  status: 'active',
  maxParallelTasks: 4,
  maxParallelWorkflows: 2,
  timeoutSeconds: null,
  resourceRequirements: {},
  metadata: {},
  createdAt: 1,
  closedAt: null,
  closeReason: null,
};

const handlers: CommandHandlers<'session'> = {
  'session.create': (p) => ({ ...session, userId: p.userId }),
  'session.get': (p) => (p.sessionId === 's1' ? session : null),
  'session.list': async () => [session],
  'session.close': (p) => ({ ...session, status: 'closed', closeReason: p.reason ?? null }),
};

describe('CommandHandlers', () => {
  it('types each handler by its command: payload in, reply out', () => {
    expectTypeOf<Parameters<CommandHandlers<'session'>['session.get']>[0]>().toEqualTypeOf<{ sessionId: string }>();
    expectTypeOf<ReturnType<CommandHandlers<'engine'>['engine.status']>>().toEqualTypeOf<
      SystemStatus | Promise<SystemStatus>
    >();
    // A handler left out, a command of another component, or a reply of the wrong type do not compile.
    // @ts-expect-error -- 'session.close' is missing
    const missing: CommandHandlers<'session'> = {
      'session.create': handlers['session.create'],
      'session.get': handlers['session.get'],
      'session.list': handlers['session.list'],
    };
    // @ts-expect-error -- 'session.get' replies Session | null, not a number
    const wrong: CommandHandlers<'session'> = { ...handlers, 'session.get': () => 5 };
    expect([missing, wrong]).toHaveLength(2);
  });

  it('gives the client the reply the handler returned, with its type', async () => {
    const bus = new InMemoryBus();
    bus.serve('session', handlers);
    const got = bus.request('session.get', { sessionId: 's1' });
    expectTypeOf(got).toEqualTypeOf<Promise<Session | null>>();
    expectTypeOf(got).toEqualTypeOf<Promise<CommandReply<'session.get'>>>();
    await expect(got).resolves.toEqual(session);
    const listed = bus.request('session.list', {});
    expectTypeOf(listed).resolves.toEqualTypeOf<Session[]>();
    await expect(listed).resolves.toEqual([session]);
    await bus.close();
  });

  it('routes by command type and refuses one the map does not have', async () => {
    const route = routeCommands(handlers);
    expect(await route('session.get', { sessionId: 'nope' })).toBeNull();
    // A command from plain JavaScript, or of another component, finds no handler.
    expect(() => route('task.stats', {})).toThrow(NotFoundError);
  });
});
