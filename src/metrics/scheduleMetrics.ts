/**
 * The Prometheus families of schedules and triggers, fed by their events: runs started (or not) per schedule and
 * outcome, how late slots fire, and runs started (or messages rejected) per trigger. Label values are schedule and
 * trigger names (a bounded set: the ones created), never run ids.
 */
import type { Subscription } from 'rxjs';
import type { Registry } from 'prom-client';
import { Counter, Histogram } from 'prom-client';
import type { Observable } from 'rxjs';
import type { BusEvent, EventName } from '../model/events.js';

const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Registers the families on `registry` and follows the bus until {@link ScheduleMetrics.close}. */
export class ScheduleMetrics {
  readonly scheduleRuns: Counter<'schedule' | 'outcome'>;
  readonly scheduleLag: Histogram<'schedule'>;
  readonly triggerRuns: Counter<'trigger' | 'outcome'>;
  readonly #subs: Subscription[] = [];

  constructor(registry: Registry, bus: { events$(type?: EventName): Observable<BusEvent> }) {
    const registers = [registry];
    this.scheduleRuns = new Counter({
      name: 'codomyrmex_schedule_runs_total',
      help: 'Schedule slots by schedule and outcome: started (a slot, a backfill or a manual trigger started its run), skipped (overlap), failed (the run could not start), missed (older than the catch-up window).',
      labelNames: ['schedule', 'outcome'] as const,
      registers,
    });
    this.scheduleLag = new Histogram({
      name: 'codomyrmex_schedule_lag_seconds',
      help: "How late a slot's run started: fire time minus slot time (jitter included), by schedule. Catch-up and backfill runs are not counted.",
      labelNames: ['schedule'] as const,
      buckets: LAG_BUCKETS,
      registers,
    });
    this.triggerRuns = new Counter({
      name: 'codomyrmex_trigger_runs_total',
      help: 'Trigger messages by trigger and outcome: started (a run started), rejected (not JSON, bad signature, parameters that did not resolve, an unknown workflow).',
      labelNames: ['trigger', 'outcome'] as const,
      registers,
    });
    this.#subs.push(
      bus.events$('schedule_fired').subscribe((e) => {
        if (e.type !== 'schedule_fired') return;
        this.scheduleRuns.inc({ schedule: e.data.schedule, outcome: 'started' });
        // A slot caught up after downtime, a backfill or a manual run is late on purpose: it would drown the lag.
        if (!e.data.manual && !e.data.backfill && e.data.lagMs < 60_000)
          this.scheduleLag.observe({ schedule: e.data.schedule }, e.data.lagMs / 1000);
      }),
      bus.events$('schedule_skipped').subscribe((e) => {
        if (e.type === 'schedule_skipped')
          this.scheduleRuns.inc({
            schedule: e.data.schedule,
            outcome: e.data.reason === 'overlap' ? 'skipped' : 'failed',
          });
      }),
      bus.events$('schedule_missed').subscribe((e) => {
        if (e.type === 'schedule_missed')
          this.scheduleRuns.inc({ schedule: e.data.schedule, outcome: 'missed' }, e.data.count);
      }),
      bus.events$('trigger_fired').subscribe((e) => {
        if (e.type === 'trigger_fired') this.triggerRuns.inc({ trigger: e.data.trigger, outcome: 'started' });
      }),
      bus.events$('trigger_rejected').subscribe((e) => {
        if (e.type === 'trigger_rejected') this.triggerRuns.inc({ trigger: e.data.trigger, outcome: 'rejected' });
      }),
    );
  }

  close(): void {
    for (const s of this.#subs) s.unsubscribe();
    this.#subs.length = 0;
  }
}
