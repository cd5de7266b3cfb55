/** The sessions component: an actor (systemId `sessions`) that owns the {@link SessionManager} and serves `session.*`. */
import { fromCallback } from 'xstate';
import type { Command } from '../../bus/protocol.js';
import { NotFoundError } from '../../errors.js';
import type { ComponentControl } from '../../machines/runtime.js';
import type { ComponentDeps } from '../deps.js';

import { SessionManager, storedSessions } from './manager.js';

export function handleSessionCommand(sessions: SessionManager, command: Command): unknown {
  switch (command.type) {
    case 'session.create':
      return sessions.create(command.payload);
    case 'session.get':
      return sessions.get(command.payload.sessionId);
    case 'session.list':
      return sessions.list(command.payload.status);
    case 'session.close':
      return sessions.close(command.payload.sessionId, command.payload.reason);
    default:
      throw new NotFoundError(`unknown command "${command.type}"`);
  }
}

export function sessionManagerLogic(deps: ComponentDeps) {
  return fromCallback<ComponentControl>(({ sendBack, receive }) => {
    const durable = deps.store.persistent;
    const sessions = new SessionManager(deps.bus, deps.ledger, durable ? deps.commits : null, deps.clock);
    if (durable) sessions.recover(storedSessions(deps));
    const stop = deps.bus.serve('session', (command) => handleSessionCommand(sessions, command));
    receive((event) => {
      if (event.type === 'component.drain') {
        sessions.drain();
        sendBack({ type: 'component.drained', component: 'sessions' });
      }
    });
    return stop;
  });
}
