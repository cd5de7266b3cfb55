/**
 * Sessions: an actor (systemId `sessions`) that creates and closes sessions. A session holds its
 * `resourceRequirements` for its life, opens a lane on the task orchestrator (its mode and task limit) and
 * configures its workflow limit on the workflow manager; closing it cancels what runs in it and releases its holds.
 */
import { randomUUID } from 'node:crypto';
import type { MessageBus } from '../../bus/bus.js';
import { NotFoundError, serializeError, ShuttingDownError, ValidationError } from '../../errors.js';
import type { Clock, ClockTimer } from '../../model/clock.js';
import { systemClock } from '../../model/clock.js';
import type { Session, SessionOptions } from '../../model/session.js';
import { camelizeSessionOptions, sessionOptionsSchema } from '../../model/session.js';
import { formatZodIssues } from '../../model/validate.js';
import type { GroupCommitter } from '../../store/commits.js';
import { RecordQueue } from '../../store/commits.js';
import type { ResourceLedger } from '../resources/ledger.js';
import type { ComponentDeps } from '../deps.js';

export class SessionManager {
  readonly #sessions = new Map<string, Session>();
  readonly #timers = new Map<string, ClockTimer>();
  readonly #clock: Clock;
  readonly #bus: MessageBus;
  readonly #ledger: ResourceLedger;
  /** Sessions waiting for the next commit (null: nothing is written). */
  readonly #records: RecordQueue | null;
  #closing = false;

  /** @param commits where sessions are written (a store that outlives the process), or null */
  constructor(
    bus: MessageBus,
    ledger: ResourceLedger,
    commits: GroupCommitter | null = null,
    clock: Clock = systemClock,
  ) {
    this.#bus = bus;
    this.#clock = clock;
    this.#ledger = ledger;
    this.#records = commits ? new RecordQueue(commits) : null;
  }

  #report(operation: string, err: unknown): void {
    this.#bus.publish('component_error', { component: 'sessions', operation, error: serializeError(err) });
  }

  #persist(session: Session): void {
    this.#records?.write('sessions', session.sessionId, {
      kind: 'sessions',
      id: session.sessionId,
      parent: session.userId,
      status: session.status,
      data: { ...session },
    });
  }

  /**
   * Loads stored sessions (their lanes and workflow limits were opened by the task orchestrator and the workflow
   * manager from the same records, their holds restored by the resource manager) and restarts the timeouts of
   * active ones with the time they had left; one whose time ran out while the engine was down closes now.
   */
  recover(stored: Session[]): number {
    let active = 0;
    for (const session of stored) {
      this.#sessions.set(session.sessionId, { ...session });
      if (session.status !== 'active') continue;
      active++;
      if (session.timeoutSeconds !== null)
        this.#arm(
          session.sessionId,
          session.createdAt + session.timeoutSeconds * 1000 - this.#clock.now(),
          session.timeoutSeconds,
        );
    }
    return active;
  }

  #arm(sessionId: string, delayMs: number, timeoutSeconds: number): void {
    const timer = this.#clock.setTimeout(
      () => {
        this.close(sessionId, `session timed out after ${timeoutSeconds}s`).catch((err: unknown) =>
          this.#report('session.timeout', err),
        );
      },
      Math.max(0, delayMs),
      { unref: true },
    );
    this.#timers.set(sessionId, timer);
  }

  async create(input: unknown): Promise<Session> {
    if (this.#closing) throw new ShuttingDownError();
    const parsed = sessionOptionsSchema.safeParse(camelizeSessionOptions(input));
    if (!parsed.success) throw new ValidationError(formatZodIssues(parsed.error, 'session'));
    const o: SessionOptions = parsed.data;
    const sessionId = randomUUID().toLowerCase();
    const session: Session = {
      sessionId,
      userId: o.userId,
      mode: o.mode ?? 'resource_aware',
      maxParallelTasks: o.maxParallelTasks ?? 4,
      maxParallelWorkflows: o.maxParallelWorkflows ?? 2,
      timeoutSeconds: o.timeoutSeconds ?? null,
      resourceRequirements: o.resourceRequirements ?? {},
      metadata: o.metadata ?? {},
      status: 'active',
      createdAt: this.#clock.now(),
      closedAt: null,
      closeReason: null,
    };
    const holder = `session:${sessionId}`;
    if (Object.keys(session.resourceRequirements).length) {
      // Validates the requirements too; nothing is created if they cannot be held now.
      await this.#ledger.allocate(holder, session.resourceRequirements);
    }
    try {
      await this.#bus.request('task.open_lane', {
        sessionId,
        mode: session.mode,
        maxParallelTasks: session.maxParallelTasks,
      });
      await this.#bus.request('workflow.configure_session', {
        sessionId,
        maxParallelWorkflows: session.maxParallelWorkflows,
      });
    } catch (err) {
      this.#ledger.deallocate(holder);
      throw err;
    }
    this.#sessions.set(sessionId, session);
    this.#persist(session);
    if (session.timeoutSeconds !== null) this.#arm(sessionId, session.timeoutSeconds * 1000, session.timeoutSeconds);
    this.#bus.publish('session_created', { sessionId, userId: session.userId, mode: session.mode });
    return { ...session };
  }

  get(sessionId: string): Session | null {
    const s = this.#sessions.get(sessionId);
    return s ? { ...s } : null;
  }

  list(status?: 'active' | 'closed'): Session[] {
    return [...this.#sessions.values()]
      .filter((s) => status === undefined || s.status === status)
      .map((s) => ({ ...s }));
  }

  /** Cancels the session's runs and tasks, releases its holds, and marks it closed. Closing twice is a no-op. */
  async close(sessionId: string, reason = 'closed by request'): Promise<Session> {
    const s = this.#sessions.get(sessionId);
    if (!s) throw new NotFoundError(`no session with id "${sessionId}"`);
    if (s.status === 'closed') return { ...s };
    s.status = 'closed';
    s.closedAt = this.#clock.now();
    s.closeReason = reason;
    this.#clock.clearTimeout(this.#timers.get(sessionId));
    this.#timers.delete(sessionId);
    // The session closes whatever happens; a part that could not be closed is reported, not hidden.
    await this.#bus
      .request('workflow.close_session', { sessionId, reason })
      .catch((err: unknown) => this.#report('session.close: cancelling runs', err));
    await this.#bus
      .request('task.close_lane', { sessionId, reason })
      .catch((err: unknown) => this.#report('session.close: cancelling tasks', err));
    this.#ledger.deallocate(`session:${sessionId}`);
    this.#persist(s);
    this.#bus.publish('session_closed', { sessionId, userId: s.userId, reason });
    return { ...s };
  }

  /** Refuses new sessions; timers stop. */
  drain(): void {
    this.#closing = true;
    for (const t of this.#timers.values()) this.#clock.clearTimeout(t);
    this.#timers.clear();
  }
}

/** Sessions as stored (empty unless the store outlives the process). */
export function storedSessions(deps: Pick<ComponentDeps, 'store'>, status?: 'active'): Session[] {
  if (!deps.store.persistent) return [];
  return deps.store.listRecords<Session>('sessions', status ? { status: [status] } : {}).map((r) => r.data);
}
