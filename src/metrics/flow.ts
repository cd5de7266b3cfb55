/**
 * Flow-control families, read at scrape time from the scheduler's stats: tasks waiting on a concurrency rule,
 * waits on each rate limit, and submissions deduplicated by an idempotency key.
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { ScrapeSnapshot } from './snapshot.js';

export function createFlowFamilies(registry: Registry, snapshot: () => Promise<ScrapeSnapshot>) {
  const registers = [registry];
  return {
    concurrencyWaiting: new Gauge({
      name: 'codomyrmex_concurrency_waiting',
      help: 'Ready tasks waiting for a concurrency key at its limit, by rule (the key as written, e.g. {{params.tenant}}).',
      labelNames: ['rule'] as const,
      registers,
      async collect() {
        const flow = (await snapshot()).scheduler?.flow;
        this.reset();
        for (const [rule, n] of Object.entries(flow?.waitingByRule ?? {})) this.set({ rule }, n);
      },
    }),
    rateLimitWaits: new Counter({
      name: 'codomyrmex_ratelimit_waits_total',
      help: 'Times a task had to wait for the units of a rate limit, by limit.',
      labelNames: ['limit'] as const,
      registers,
      async collect() {
        const flow = (await snapshot()).scheduler?.flow;
        this.reset();
        for (const [limit, n] of Object.entries(flow?.rateLimitWaits ?? {})) this.inc({ limit }, n);
      },
    }),
    deduplicated: new Counter({
      name: 'codomyrmex_deduplicated_total',
      help: 'Submissions answered with an earlier task (their idempotency key was taken within its TTL).',
      registers,
      async collect() {
        const flow = (await snapshot()).scheduler?.flow;
        this.reset();
        this.inc(flow?.deduplicated ?? 0);
      },
    }),
  };
}

export type FlowFamilies = ReturnType<typeof createFlowFamilies>;
