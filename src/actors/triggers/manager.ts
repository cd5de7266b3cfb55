/**
 * The TriggerManager: stores triggers and starts a workflow run per message. NATS messages arrive through a
 * {@link TriggerTransport} (core subscriptions, or durable JetStream consumers acknowledged only once the run is
 * stored); webhooks arrive from the HTTP edge as `trigger.http` commands, verified here (HMAC-SHA256 of the raw
 * body). A stream message's run id is derived from its stream and sequence, so a redelivery starts nothing new.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { MessageBus } from '../../bus/bus.js';
import type { WebhookReply } from '../../bus/protocol.js';
import { CodomyrmexError, ErrorCode, NotFoundError, ValidationError, serializeError } from '../../errors.js';
import type { TriggerInput, TriggerSpec, TriggerView } from '../../model/schedule.js';
import { triggerInputSchema } from '../../model/schedule.js';
import { formatZodIssues } from '../../model/validate.js';
import type { GroupCommitter } from '../../store/commits.js';
import type { Store } from '../../store/store.js';
import { resolveTemplates } from '../../workflows/template.js';
import { NamedRecords } from '../schedules/namedRecords.js';
import { derivedId } from '../schedules/slots.js';
import type { LiveTrigger as Live, TriggerRecord, TriggerSourceKind as Source } from './spec.js';
import { durableName, kindOf, liveTrigger, triggerProblems, triggerView } from './spec.js';
import type { TriggerMessage, TriggerTransport } from './transport.js';

export interface TriggerDeps {
  bus: MessageBus;
  store: Store;
  commits: GroupCommitter;
}

export class TriggerManager {
  readonly #deps: TriggerDeps;
  readonly #triggers = new Map<string, Live>();
  readonly #records: NamedRecords;
  #transport: TriggerTransport | null = null;
  #firing = false;
  #closed = false;

  constructor(deps: TriggerDeps) {
    this.#deps = deps;
    this.#records = new NamedRecords('triggers', deps.store, deps.commits);
  }

  load(): number {
    for (const r of this.#deps.store.listRecords<TriggerRecord>('triggers')) {
      this.#triggers.set(r.id, liveTrigger(r.data));
    }
    return this.#triggers.size;
  }

  /** Starts taking messages (NATS, once a transport is given; webhooks at once). */
  start(): void {
    this.#firing = true;
    for (const t of this.#triggers.values()) void this.#listen(t);
  }

  /** The message system NATS triggers listen on (null: none; they wait for one). */
  setTransport(transport: TriggerTransport | null): void {
    this.#transport = transport;
    for (const t of this.#triggers.values()) {
      this.#unlisten(t);
      void this.#listen(t);
    }
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#triggers.values()) this.#unlisten(t);
  }

  // ---------------------------------------------------------------- commands

  async create(input: unknown): Promise<TriggerView> {
    const parsed = triggerInputSchema.safeParse(input);
    if (!parsed.success) throw new ValidationError(formatZodIssues(parsed.error, 'trigger'));
    const i = parsed.data;
    const problems = triggerProblems(i, this.#triggers.values());
    if (problems.length) throw new ValidationError(problems);
    const wf = await this.#deps.bus.request('workflow.get', { name: i.workflow });
    if (!wf)
      throw new NotFoundError(
        `trigger.workflow: no workflow named "${i.workflow}"; create it first (workflow list shows them)`,
      );
    const spec: TriggerSpec = {
      name: i.name,
      workflow: wf.name,
      source: i.source,
      parameters: i.parameters ?? null,
      createdAt: Date.now(),
    };
    const t = liveTrigger({ spec, paused: i.paused === true });
    this.#triggers.set(spec.name, t);
    this.#records.save(t.rec);
    await this.#records.durable();
    await this.#listen(t);
    return this.view(t);
  }

  list(): TriggerView[] {
    return [...this.#triggers.values()].map((t) => this.view(t));
  }

  async delete(name: string): Promise<{ deleted: boolean }> {
    const t = this.#triggers.get(name);
    if (!t) return { deleted: false };
    t.deleted = true;
    this.#unlisten(t);
    this.#triggers.delete(name);
    this.#records.delete(name);
    await this.#records.durable();
    return { deleted: true };
  }

  async setPaused(name: string, paused: boolean): Promise<TriggerView> {
    const t = this.#triggers.get(name);
    if (!t) throw new NotFoundError(`no trigger named "${name}"; list them with listTriggers()`);
    t.rec.paused = paused;
    this.#records.save(t.rec);
    await this.#records.durable();
    if (paused) this.#unlisten(t);
    else await this.#listen(t);
    return this.view(t);
  }

  view(t: Live): TriggerView {
    return triggerView(t, this.#firing);
  }

  /** A webhook POST: verified with the trigger's secret, then a run with the JSON body as `{{event.data}}`. */
  async http(path: string, body: string, signature: string | undefined): Promise<WebhookReply> {
    const t = [...this.#triggers.values()].find(
      (x) => 'http' in x.rec.spec.source && x.rec.spec.source.http.path === path,
    );
    if (!t || !('http' in t.rec.spec.source) || !this.#firing)
      return { accepted: false, reason: 'not_found', message: `no webhook trigger at ${path}` };
    const raw = Buffer.from(body, 'latin1');
    if (!verify(t.rec.spec.source.http.secret, raw, signature)) {
      this.#reject(t, 'http', path, signature === undefined ? 'missing X-Codomyrmex-Signature' : 'bad signature');
      return {
        accepted: false,
        reason: 'unauthorized',
        message: 'X-Codomyrmex-Signature must be sha256=<hex HMAC-SHA256 of the raw body with the trigger secret>',
      };
    }
    if (t.rec.paused) return { accepted: false, reason: 'paused', message: `trigger "${t.rec.spec.name}" is paused` };
    let data: unknown;
    try {
      data = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      this.#reject(t, 'http', path, `the body is not JSON (${(err as Error).message})`);
      return { accepted: false, reason: 'bad_request', message: `the body is not JSON: ${(err as Error).message}` };
    }
    const runId = await this.#fire(t, 'http', { data, subject: path, headers: {} }, randomUUID());
    return runId === null
      ? {
          accepted: false,
          reason: 'bad_request',
          message: `trigger "${t.rec.spec.name}" could not start a run (see the trigger_rejected event)`,
        }
      : { accepted: true, runId };
  }

  // ---------------------------------------------------------------- messages

  async #listen(t: Live): Promise<void> {
    const { spec } = t.rec;
    if (!this.#firing || this.#closed || t.deleted || t.rec.paused || t.listening || !('nats' in spec.source)) return;
    const transport = this.#transport;
    if (!transport) {
      t.reason = null;
      return;
    }
    const subject = spec.source.nats;
    const kind = kindOf(spec);
    try {
      if (kind === 'jetstream') {
        const stream = typeof spec.source.stream === 'string' ? spec.source.stream : true;
        const c = await transport.consume({ subject, stream, durable: durableName(spec) }, (m) =>
          this.#onMessage(t, 'jetstream', m),
        );
        if (t.deleted || t.rec.paused || this.#closed) return c.stop();
        t.listening = c;
        t.stream = c.stream;
      } else {
        t.listening = transport.subscribe(subject, (m) => this.#onMessage(t, 'nats', m));
      }
      t.reason = null;
    } catch (err) {
      t.reason = (err as Error).message;
      this.#deps.bus.publish('component_error', {
        component: 'triggers',
        operation: `listen to ${subject} for trigger "${spec.name}"`,
        error: serializeError(err),
      });
    }
  }

  #unlisten(t: Live): void {
    t.listening?.stop();
    t.listening = null;
  }

  async #onMessage(t: Live, source: Source, m: TriggerMessage): Promise<void> {
    let data: unknown;
    try {
      data = JSON.parse(Buffer.from(m.data).toString('utf8'));
    } catch (err) {
      this.#reject(
        t,
        source,
        m.subject,
        `the message is not JSON (${(err as Error).message}); it was acknowledged and dropped`,
      );
      m.ack();
      return;
    }
    const runId =
      m.seq !== undefined
        ? derivedId(`trigger\u0000${t.rec.spec.name}\u0000${m.stream ?? ''}\u0000${m.seq}`)
        : randomUUID();
    try {
      await this.#fire(t, source, { data, subject: m.subject, headers: m.headers }, runId, true);
      m.ack();
    } catch {
      // The engine is stopping: the message comes again (JetStream) to the next engine.
      m.nak();
    }
  }

  /**
   * Starts the run; null when the message is rejected (parameters that do not resolve, a workflow gone). With
   * `throwOnShutdown`, an engine that is stopping throws instead, so the message is not acknowledged.
   */
  async #fire(
    t: Live,
    source: Source,
    event: { data: unknown; subject: string; headers: Record<string, string> },
    runId: string,
    throwOnShutdown = false,
  ): Promise<string | null> {
    const { spec } = t.rec;
    let params: Record<string, unknown>;
    try {
      params =
        spec.parameters === null
          ? { event }
          : (resolveTemplates(spec.parameters, { params: {}, steps: {}, event }) as Record<string, unknown>);
    } catch (err) {
      this.#reject(t, source, event.subject, `parameters: ${(err as Error).message}`);
      return null;
    }
    try {
      const reply = await this.#deps.bus.request('workflow.start', {
        name: spec.workflow,
        params,
        runId,
        origin: { triggerName: spec.name },
      });
      if (!reply.existing) {
        t.fired++;
        this.#deps.bus.publish('trigger_fired', {
          trigger: spec.name,
          workflow: spec.workflow,
          runId,
          source,
          subject: event.subject,
        });
      }
      return runId;
    } catch (err) {
      if (throwOnShutdown && err instanceof CodomyrmexError && err.code === ErrorCode.SHUTTING_DOWN) throw err;
      this.#reject(t, source, event.subject, (err as Error).message);
      return null;
    }
  }

  #reject(t: Live, source: Source, subject: string, reason: string): void {
    t.rejected++;
    this.#deps.bus.publish('trigger_rejected', { trigger: t.rec.spec.name, source, subject, reason });
  }
}

/** `sha256=<hex>` of HMAC-SHA256(secret, body), compared in constant time. */
export function verify(secret: string, body: Buffer, signature: string | undefined): boolean {
  if (signature === undefined || !signature.startsWith('sha256=')) return false;
  const given = Buffer.from(signature.slice(7), 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The header value a sender puts on `body` (for clients and tests). */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export type { TriggerInput };
