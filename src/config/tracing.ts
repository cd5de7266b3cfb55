/**
 * Tracing options: the engine's `tracing: {...}` (engine options or the config file) over the standard `OTEL_*`
 * variables over defaults. Nothing here loads OpenTelemetry: with tracing off no SDK module is ever imported.
 */
import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { formatZodIssues } from '../model/validate.js';

/**
 * Where spans go when tracing is on, given in code: any OpenTelemetry `SpanExporter` (the SDK's
 * `InMemorySpanExporter` in tests, a vendor's exporter). Typed loosely so this module needs no OpenTelemetry import.
 */
export interface SpanExporterLike {
  export(spans: unknown[], resultCallback: (result: { code: number; error?: Error }) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

/** How an engine traces (all optional; see docs/traces.md). */
export interface TracingOptions {
  /**
   * Trace (default: on when `OTEL_TRACES_EXPORTER` names `otlp` or `console`, or `OTEL_EXPORTER_OTLP_ENDPOINT` /
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, or `endpoint` or `exporter` is given; `OTEL_SDK_DISABLED=true` and
   * `OTEL_TRACES_EXPORTER=none` turn it off). Off, no OpenTelemetry module is loaded.
   */
  enabled?: boolean;
  /**
   * The OTLP/HTTP endpoint's base URL, e.g. `http://localhost:4318` (spans go to `<endpoint>/v1/traces`). Default:
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL), else `OTEL_EXPORTER_OTLP_ENDPOINT`, else `http://localhost:4318`.
   */
  endpoint?: string;
  /** Headers sent with every export, e.g. an API key (default: `OTEL_EXPORTER_OTLP_HEADERS`). */
  headers?: Record<string, string>;
  /** The `service.name` resource attribute (default: `OTEL_SERVICE_NAME`, else `codomyrmex`; `codomyrmex-worker` for workers). */
  serviceName?: string;
  /**
   * Fraction of new traces sampled, 0 to 1, parent-based (default: `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`,
   * else every trace).
   */
  sampleRatio?: number;
  /**
   * A link to a trace in your tracing UI, `{traceId}` replaced (e.g. `http://localhost:16686/trace/{traceId}`): the
   * console links a run's and a task's trace id to it. An http:// or https:// URL. Default: `CODOMYRMEX_TRACE_LINK`.
   */
  linkTemplate?: string;
  /** Longest attribute value kept, in characters (default 4096; longer ones are truncated). */
  maxAttributeLength?: number;
  /** Code only: send spans to this exporter instead of OTLP (the SDK's `InMemorySpanExporter` in tests). */
  exporter?: SpanExporterLike;
}

/** Tracing options filled in. `enabled: false` means nothing else is looked at. */
export interface CompiledTracing {
  enabled: boolean;
  /** `otlp` (HTTP, JSON), `console` (one line per span on stdout), or `custom` (`exporter`). */
  exporter: 'otlp' | 'console' | 'custom';
  /** The full URL spans are posted to; null: the OTLP exporter reads the standard variables itself. */
  tracesUrl: string | null;
  headers: Record<string, string> | null;
  serviceName: string;
  /** Null: the SDK's sampler from `OTEL_TRACES_SAMPLER` (parent-based, always on unless set). */
  sampleRatio: number | null;
  linkTemplate: string | null;
  maxAttributeLength: number;
  custom: SpanExporterLike | null;
}

/** The tracing part of the engine options' schema (the config file's `tracing:` section). */
export const tracingOptionsSchema = z
  .object({
    enabled: z.boolean().optional(),
    endpoint: z.string().url('must be a URL such as http://localhost:4318').optional(),
    headers: z.record(z.string()).optional(),
    serviceName: z.string().min(1).optional(),
    sampleRatio: z.number().min(0).max(1).optional(),
    linkTemplate: z
      .string()
      .regex(/^https?:\/\//i, {
        message: 'must be an http:// or https:// URL, e.g. http://localhost:16686/trace/{traceId}',
      })
      .includes('{traceId}', { message: 'must contain {traceId}, e.g. http://localhost:16686/trace/{traceId}' })
      .optional(),
    maxAttributeLength: z.number().int().min(32).optional(),
    exporter: z
      .custom<SpanExporterLike>(
        (v) => typeof v === 'object' && v !== null && typeof (v as SpanExporterLike).export === 'function',
        'must be an OpenTelemetry SpanExporter (an object with export() and shutdown())',
      )
      .optional(),
  })
  .strict();

const TRUE = new Set(['true', '1', 'yes', 'on']);

/** The tracing options over the `OTEL_*` variables over defaults, checked. `defaultService` names workers differently. */
export function compileTracing(
  given: { [K in keyof TracingOptions]?: TracingOptions[K] | undefined } = {},
  env: NodeJS.ProcessEnv = process.env,
  defaultService = 'codomyrmex',
): CompiledTracing {
  const parsed = tracingOptionsSchema.safeParse(given);
  if (!parsed.success) throw new ValidationError(formatZodIssues(parsed.error, 'tracing'));
  const o = parsed.data;
  const exporters = (env['OTEL_TRACES_EXPORTER'] ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const unknown = exporters.filter((e) => !['otlp', 'console', 'none'].includes(e));
  if (unknown.length)
    throw new ValidationError(
      `OTEL_TRACES_EXPORTER: "${unknown.join(',')}" is not supported here; use otlp, console or none`,
    );
  const envEndpoint =
    nonEmpty(env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) ?? nonEmpty(env['OTEL_EXPORTER_OTLP_ENDPOINT']);
  const disabled = TRUE.has((env['OTEL_SDK_DISABLED'] ?? '').toLowerCase()) || exporters.includes('none');
  const implied =
    exporters.length > 0 || envEndpoint !== undefined || o.endpoint !== undefined || o.exporter !== undefined;
  const enabled = o.enabled ?? (!disabled && implied);
  const ratio = o.sampleRatio ?? null;
  const link = o.linkTemplate ?? nonEmpty(env['CODOMYRMEX_TRACE_LINK']) ?? null;
  if (link !== null && !/^https?:\/\//i.test(link))
    throw new ValidationError(
      'CODOMYRMEX_TRACE_LINK: must be an http:// or https:// URL, e.g. http://localhost:16686/trace/{traceId}',
    );
  if (link !== null && !link.includes('{traceId}'))
    throw new ValidationError(
      'CODOMYRMEX_TRACE_LINK: must contain {traceId}, e.g. http://localhost:16686/trace/{traceId}',
    );
  return {
    enabled,
    exporter: o.exporter ? 'custom' : exporters.includes('console') && !exporters.includes('otlp') ? 'console' : 'otlp',
    tracesUrl: o.endpoint !== undefined ? `${o.endpoint.replace(/\/+$/, '')}/v1/traces` : null,
    headers: o.headers ?? null,
    serviceName: o.serviceName ?? nonEmpty(env['OTEL_SERVICE_NAME']) ?? defaultService,
    sampleRatio: ratio,
    linkTemplate: link,
    maxAttributeLength: o.maxAttributeLength ?? 4096,
    custom: o.exporter ?? null,
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}
