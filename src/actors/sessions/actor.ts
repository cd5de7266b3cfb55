/** The sessions component: an actor (systemId `sessions`) that owns the {@link SessionManager} and serves `session.*`. */
import type { CommandHandlers } from '../../bus/bus.js';
import { componentLogic } from '../component.js';
import type { ComponentDeps } from '../deps.js';
import type { ResourceLedger } from '../resources/ledger.js';
import { SessionManager, storedSessions } from './manager.js';

/** The `session.*` commands, answered by one session manager. */
export function sessionHandlers(sessions: SessionManager): CommandHandlers<'session'> {
  return {
    'session.create': (p) => sessions.create(p),
    'session.get': (p) => sessions.get(p.sessionId),
    'session.list': (p) => sessions.list(p.status),
    'session.close': (p) => sessions.close(p.sessionId, p.reason),
  };
}

export function sessionManagerLogic(deps: ComponentDeps & { ledger: ResourceLedger }) {
  return componentLogic('sessions', deps, () => {
    const durable = deps.store.persistent;
    const sessions = new SessionManager(deps.bus, deps.ledger, durable ? deps.commits : null, deps.clock);
    return {
      handlers: { session: sessionHandlers(sessions) },
      recover: () => {
        if (durable) sessions.recover(storedSessions(deps));
        return null;
      },
      drain: () => sessions.drain(),
    };
  });
}
