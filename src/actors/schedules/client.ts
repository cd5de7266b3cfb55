/**
 * Schedules and triggers as the library shows them: every method is a request on the bus. The workflow manager's
 * facade (`getWorkflowManager()`) extends this class, and the engine offers the same methods.
 */
import { BusClient } from '../client.js';
import type {
  BackfillInput,
  BackfillReply,
  ScheduleInput,
  ScheduleView,
  TriggerInput,
  TriggerView,
} from '../../model/schedule.js';

/** Schedules (cron or `every`, with overlap policies and backfills) and triggers (NATS subjects, webhooks), over the bus. */
export class ScheduleClient extends BusClient {
  /**
   * Stores a schedule and starts firing it in this engine (and in any long-lived engine on the same store). Refuses
   * with a `ValidationError` naming each bad field (cron, zone, `every` under 1 s, `endAt` before `startAt`), or a
   * `NotFoundError` for an unknown workflow; nothing is stored then.
   *
   * @example
   * await engine.createSchedule({ name: 'nightly', workflow: 'etl', cron: '0 2 * * *', timezone: 'Europe/Paris' });
   * await engine.createSchedule({ name: 'poll', workflow: 'check', every: '30s', overlap: 'buffer_one' });
   */
  createSchedule(input: ScheduleInput): Promise<ScheduleView> {
    return this.request(() => this.bus.request('schedule.create', input));
  }

  /** Every schedule with its next fire time. */
  listSchedules(): Promise<ScheduleView[]> {
    return this.request(() => this.bus.request('schedule.list', {}));
  }

  /** The schedule with its next 5 fire times, its recent slots and its last runs; null when there is none. */
  getSchedule(name: string): Promise<ScheduleView | null> {
    return this.request(() => this.bus.request('schedule.get', { name }));
  }

  /** Stops firing; slots that fall while paused are not run, and not caught up on resume. */
  pauseSchedule(name: string): Promise<ScheduleView> {
    return this.request(() => this.bus.request('schedule.pause', { name }));
  }

  /** Lets a paused schedule fire again, from its next slot. */
  resumeSchedule(name: string): Promise<ScheduleView> {
    return this.request(() => this.bus.request('schedule.resume', { name }));
  }

  /** Deletes the schedule; runs it started go on. */
  async deleteSchedule(name: string): Promise<boolean> {
    return (await this.request(() => this.bus.request('schedule.delete', { name }))).deleted;
  }

  /** One run now, outside the slots; resolves with its run id. */
  async triggerSchedule(name: string): Promise<string> {
    return (await this.request(() => this.bus.request('schedule.trigger', { name }))).runId;
  }

  /**
   * One run per slot of a past range, in slot order (at most 10,000 slots). `overlap` defaults to `buffer_all`: one
   * after another, none dropped. A slot whose run exists already is not run again.
   *
   * @example
   * await engine.backfillSchedule('nightly', { from: '2026-01-01T00:00:00Z', to: '2026-01-07T23:59:59Z' });
   */
  backfillSchedule(name: string, range: BackfillInput): Promise<BackfillReply> {
    return this.request(() => this.bus.request('schedule.backfill', { name, ...range }));
  }

  /**
   * Stores a trigger: each message on a NATS subject (`source: { nats: 'orders.created' }`, `stream` for a
   * durable JetStream consumer) or each signed POST to the HTTP edge (`source: { http: { path: '/hooks/x', secret } }`)
   * starts a run of `workflow`; `parameters` strings may read `{{event.data}}`, `{{event.subject}}`, `{{event.headers}}`.
   */
  createTrigger(input: TriggerInput): Promise<TriggerView> {
    return this.request(() => this.bus.request('trigger.create', input));
  }

  /** Every trigger (NATS subject, JetStream stream or webhook) with its counts. */
  listTriggers(): Promise<TriggerView[]> {
    return this.request(() => this.bus.request('trigger.list', {}));
  }

  /** Removes a trigger and stops listening; runs it started go on. False when there was none. */
  async deleteTrigger(name: string): Promise<boolean> {
    return (await this.request(() => this.bus.request('trigger.delete', { name }))).deleted;
  }

  /** Stops a trigger starting runs (a JetStream trigger stops consuming: its messages wait in the stream; a webhook answers 409). */
  pauseTrigger(name: string): Promise<TriggerView> {
    return this.request(() => this.bus.request('trigger.pause', { name }));
  }

  /** Lets a paused trigger start runs again. */
  resumeTrigger(name: string): Promise<TriggerView> {
    return this.request(() => this.bus.request('trigger.resume', { name }));
  }
}
