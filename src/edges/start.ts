/**
 * Composes the edges of an engine: whoever starts one (the library, the CLI, the daemon) names the edges it wants
 * and this starts them against the engine's handlers. The engine itself builds none. An edge's code (the HTTP
 * server, its API and the bus schemas it parses with) loads only when it is asked for.
 */
import type { AttachedEdge, OrchestrationEngine } from '../actors/engine/engine.js';
import type { HttpEdgeOptions } from './http/server.js';

/** Which edges `startEdges` starts. */
export interface EdgeOptions {
  /** Serve `/metrics`, `/healthz`, `/readyz`, the console and the API here (null or absent: no HTTP edge). */
  http?: HttpEdgeOptions | null | undefined;
}

/** Starts the edges `options` name; if one fails, those already started are closed and the error is thrown. */
export async function startEdges(engine: OrchestrationEngine, options: EdgeOptions): Promise<AttachedEdge[]> {
  const edges: AttachedEdge[] = [];
  try {
    if (options.http) {
      engine.metrics?.addProcessMetrics();
      const { HttpEdge } = await import('./http/server.js');
      const http = await HttpEdge.start(engine.httpHandlers(), options.http, engine);
      edges.push({ name: 'http', address: http.address, close: () => http.close() });
    }
  } catch (err) {
    await Promise.allSettled(edges.map((e) => e.close()));
    throw err;
  }
  return edges;
}
