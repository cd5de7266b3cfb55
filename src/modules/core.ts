import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { NonRetryableError } from '../errors.js';
import { defineAction, defineModule } from './contract.js';

/** Built-in actions for tests, demos and benchmarks. */
export default defineModule({
  name: 'core',
  description: 'Built-in actions for tests, demos and benchmarks',
  actions: {
    noop: defineAction({
      description: 'Does nothing and returns null.',
      output: 'null',
      params: z.object({}).passthrough(),
      run: () => null,
    }),
    echo: defineAction({
      description: 'Returns its parameters (or `value` when that is the only one).',
      output: 'the parameters, or `value`',
      params: z.record(z.unknown()),
      run: (params) => (Object.keys(params).length === 1 && 'value' in params ? params['value'] : params),
    }),
    sleep: defineAction({
      description: 'Waits `ms` milliseconds (stops early when aborted), then returns `value`.',
      output: '`value`, or { sleptMs }',
      params: z.object({ ms: z.number().int().min(0).max(86_400_000), value: z.unknown().optional() }).strict(),
      run: async ({ ms, value }, ctx) => {
        await sleep(ms, undefined, { signal: ctx.signal });
        return value ?? { sleptMs: ms };
      },
    }),
    fail: defineAction({
      description:
        'Throws. `times`: fail only the first N attempts, then succeed; `retryable: false`: a non-retryable error; `crash`: kill the worker thread.',
      output: '{ attempt } once `times` attempts have failed',
      params: z
        .object({
          message: z.string().default('failed on purpose'),
          times: z.number().int().min(0).optional(),
          retryable: z.boolean().default(true),
          crash: z.boolean().default(false),
        })
        .strict(),
      run: ({ message, times, retryable, crash }, ctx) => {
        if (times !== undefined && ctx.attempt > times) return { attempt: ctx.attempt };
        if (crash) process.exit(1);
        if (!retryable) throw new NonRetryableError(message);
        throw new Error(message);
      },
    }),
    hang: defineAction({
      description: 'Blocks the worker thread in a busy loop for `ms` (ignores abort signals): for timeout tests.',
      output: 'null',
      params: z.object({ ms: z.number().int().min(0).max(3_600_000).default(3_600_000) }).strict(),
      run: ({ ms }) => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
          /* spin: only a thread termination stops this */
        }
        return null;
      },
    }),
    progress: defineAction({
      description: 'Reports `steps` progress values and a log line over the channel, then returns the count.',
      output: '{ steps }',
      params: z.object({ steps: z.number().int().min(1).max(1000).default(3) }).strict(),
      channel: true,
      run: async ({ steps }, ctx) => {
        for (let i = 1; i <= steps; i++) await ctx.progress(i / steps);
        await ctx.log('info', `reported ${steps} steps`);
        return { steps };
      },
    }),
  },
});
