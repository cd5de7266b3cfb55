/**
 * Tracing's entry point: the interfaces the engine uses (types.ts) and {@link loadTracing}, which imports the
 * OpenTelemetry SDK only when tracing is on, so an engine that does not trace never loads an OpenTelemetry module.
 */
import type { CompiledTracing } from '../config/tracing.js';
import type { Tracing, TracingDeps } from './types.js';

export * from './types.js';

/** Loads the OpenTelemetry SDK and starts tracing (call only when `options.enabled`). */
export async function loadTracing(options: CompiledTracing, deps: TracingDeps = {}): Promise<Tracing> {
  const { startTracing } = await import('./sdk.js');
  return startTracing(options, deps);
}
