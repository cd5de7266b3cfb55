/**
 * The HTTP edge: `GET /metrics` (the engine's Prometheus exposition), `GET /healthz` (liveness) and
 * `GET /readyz` (readiness), and with an engine the console at `/` and the command API under `/api/v1/` (routes.ts),
 * on node:http. Binds 127.0.0.1 unless told otherwise; port 0 picks a free port, which
 * {@link HttpEdge.address} then reports. Off for engines made in code unless `http` is set; the daemon turns it on.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OrchestrationEngine } from '../../actors/engine/engine.js';
import type { HttpAddress, HttpHandlers } from '../../actors/engine/views.js';
import { errorReply } from '../../bus/wire.js';
import { DEFAULT_MAX_BODY_BYTES } from '../../config/options.js';
import { CodomyrmexError } from '../../errors.js';
import { Api } from './api.js';
import { sendEnvelope } from './replies.js';
import { ConsoleAssets } from './assets.js';
import { handle, type Routes } from './routes.js';
import { checkBindable, setSecurityHeaders } from './security.js';

export type { HttpAddress, HttpHandlers, Liveness, Readiness } from '../../actors/engine/views.js';

/** Where the edge listens and what it asks of callers (see `HttpOptions` in the engine's options). */
export interface HttpEdgeOptions {
  host: string;
  port: number;
  authToken?: string | null | undefined;
  authMetrics?: boolean | undefined;
  console?: boolean | undefined;
  maxBodyBytes?: number | undefined;
}

/** The HTTP server of one engine. */
export class HttpEdge {
  readonly #server: ReturnType<typeof createServer>;
  readonly address: HttpAddress;
  readonly #api: Api | null;
  #closing: Promise<void> | null = null;

  private constructor(server: ReturnType<typeof createServer>, address: HttpAddress, api: Api | null) {
    this.#server = server;
    this.address = address;
    this.#api = api;
  }

  /**
   * Listens on `host:port`; rejects with a message naming the option when it cannot (port in use, bad host, a
   * non-loopback address without a token while the API is on). With `engine` (and `options.console`), it serves the
   * console and the command API too.
   */
  static start(handlers: HttpHandlers, listen: HttpEdgeOptions, engine?: OrchestrationEngine): Promise<HttpEdge> {
    const o = {
      authToken: listen.authToken ?? null,
      authMetrics: listen.authMetrics ?? false,
      console: listen.console ?? true,
      maxBodyBytes: listen.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    };
    const apiOn = o.console && engine !== undefined;
    try {
      checkBindable(listen.host, o.authToken, apiOn);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const api = apiOn ? new Api(engine, o.maxBodyBytes) : null;
    const routes: Routes = {
      handlers,
      api,
      assets: api ? new ConsoleAssets() : null,
      engine: engine ?? null,
      token: o.authToken,
      authMetrics: o.authMetrics,
    };
    const server = createServer((req, res) => {
      setSecurityHeaders(res);
      handle(routes, req, res).catch((err: unknown) => {
        if (!res.headersSent) sendEnvelope(res, errorReply(err));
        else res.destroy();
      });
    });
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const hint = err.code === 'EADDRINUSE' ? ' (the port is in use: set http.port, or 0 for a free one)' : '';
        reject(
          new CodomyrmexError(
            `http: cannot listen on ${listen.host}:${listen.port}: ${err.code ?? err.message}${hint}`,
            undefined,
            { cause: err },
          ),
        );
      };
      server.once('error', onError);
      server.listen({ host: listen.host, port: listen.port }, () => {
        server.off('error', onError);
        const bound = server.address() as AddressInfo;
        const host = bound.address;
        const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
        resolve(new HttpEdge(server, { host, port: bound.port, url }, api));
      });
    });
  }

  /** Clients following `/api/v1/events` now. */
  get eventClients(): number {
    return this.#api?.events.clients ?? 0;
  }

  /** Stops listening and closes every connection (scrapers keep theirs alive). Idempotent. */
  close(): Promise<void> {
    this.#api?.close();
    this.#closing ??= new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }
}
