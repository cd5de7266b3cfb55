/** The zod schema engine options are checked with, whether a config file or code gives them. */
import { z } from 'zod';
import { tracingOptionsSchema } from './tracing.js';

/**
 * The engine options as a config file or `createOrchestrationEngine()` gives them (the TSDoc of `EngineOptions` in
 * options.ts says what each does).
 */
export const engineOptionsSchema = z
  .object({
    threads: z.number().int().min(1).max(1024).optional(),
    concurrentTasksPerWorker: z.number().int().min(1).max(1024).optional(),
    maxConcurrency: z.number().int().min(1).optional(),
    batchDispatch: z.boolean().optional(),
    moduleDirs: z.array(z.string().min(1)).optional(),
    workerBootTimeoutMs: z.number().int().min(1).optional(),
    agingMs: z.number().int().min(0).optional(),
    abortGraceMs: z.number().int().min(0).optional(),
    retainFinishedTasks: z.number().int().min(0).optional(),
    retainFinishedTaskBytes: z.number().int().min(0).optional(),
    shutdownGraceMs: z.number().int().min(0).optional(),
    idempotencyTtlSeconds: z.number().positive().optional(),
    rateLimits: z.array(z.object({ name: z.string(), limit: z.number(), per: z.string() }).strict()).optional(),
    workflowDirs: z.array(z.string().min(1)).optional(),
    badDefinitionFiles: z.enum(['fail', 'skip']).optional(),
    retainRuns: z.number().int().min(0).optional(),
    maxForEachItems: z.number().int().min(1).optional(),
    storeRetention: z
      .union([
        z.literal(false),
        z
          .object({
            tasks: z.number().int().min(0).optional(),
            taskAgeMs: z.number().int().min(0).optional(),
            runs: z.number().int().min(0).optional(),
            runAgeMs: z.number().int().min(0).optional(),
          })
          .strict(),
      ])
      .optional(),
    projectsDir: z.string().min(1).optional(),
    allowedProjectRoots: z.array(z.string().min(1)).optional(),
    templateDirs: z.array(z.string().min(1)).optional(),
    store: z
      .union([
        z.enum(['sqlite', 'memory', 'postgres']),
        z.object({ kind: z.literal('memory') }).strict(),
        z.object({ kind: z.literal('sqlite'), path: z.string().min(1).optional() }).strict(),
        z
          .object({
            kind: z.literal('postgres'),
            url: z
              .string()
              .regex(
                /^postgres(ql)?:\/\//i,
                'must be a PostgreSQL URL such as postgres://user:password@host:5432/database',
              )
              .optional(),
            migrate: z.boolean().optional(),
            leaseTtlMs: z.number().int().min(100).optional(),
          })
          .strict(),
      ])
      .optional(),
    dataDir: z.string().min(1).optional(),
    dbPath: z.string().min(1).optional(),
    durability: z.enum(['strict', 'relaxed']).optional(),
    commitDelayMs: z.number().int().min(0).max(1000).optional(),
    commitMaxBatch: z.number().int().min(1).optional(),
    journalMaxEvents: z.number().int().min(0).optional(),
    journalMaxAgeMs: z.number().int().min(0).optional(),
    busyTimeoutMs: z.number().int().min(0).optional(),
    writerThread: z.boolean().optional(),
    walAutocheckpointPages: z.number().int().min(0).optional(),
    fireSchedules: z.boolean().optional(),
    metrics: z.object({ enabled: z.boolean().optional(), processMetrics: z.boolean().optional() }).strict().optional(),
    http: z
      .union([
        z.boolean(),
        z
          .object({
            host: z.string().min(1).optional(),
            port: z.number().int().min(0).max(65_535).optional(),
            authToken: z.string().min(16, 'must be at least 16 characters (e.g. `openssl rand -hex 24`)').optional(),
            authMetrics: z.boolean().optional(),
            console: z.boolean().optional(),
            maxBodyBytes: z.number().int().min(1024).optional(),
          })
          .strict(),
      ])
      .optional(),
    health: z
      .object({ probeTimeoutMs: z.number().int().min(1).optional(), queueStuckMs: z.number().int().min(0).optional() })
      .strict()
      .optional(),
    tracing: tracingOptionsSchema.optional(),
  })
  .strict();
