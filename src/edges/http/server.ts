/**
 * The HTTP edge: `GET /metrics` (the engine's Prometheus exposition), `GET /healthz` (liveness) and
 * `GET /readyz` (readiness), on node:http. Binds 127.0.0.1 unless told otherwise; port 0 picks a free port, which
 * {@link HttpEdge.address} then reports. Off for engines made in code unless `http` is set; the daemon turns it on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CodomyrmexError } from '../../errors.js';
import type { HttpAddress, HttpHandlers } from '../../actors/engine/views.js';

export type { HttpAddress, HttpHandlers, Liveness, Readiness } from '../../actors/engine/views.js';

function sendJson(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(head ? undefined : text);
}

/** The HTTP server of one engine. */
export class HttpEdge {
  readonly #server: ReturnType<typeof createServer>;
  readonly address: HttpAddress;
  #closing: Promise<void> | null = null;

  private constructor(server: ReturnType<typeof createServer>, address: HttpAddress) {
    this.#server = server;
    this.address = address;
  }

  /** Listens on `host:port`; rejects with a message naming the option when it cannot (port in use, bad host). */
  static start(handlers: HttpHandlers, listen: { host: string; port: number }): Promise<HttpEdge> {
    const server = createServer((req, res) => {
      HttpEdge.#handle(handlers, req, res).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) }, false);
        else res.destroy();
      });
    });
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const hint = err.code === 'EADDRINUSE' ? ' (the port is in use: set http.port, or 0 for a free one)' : '';
        reject(new CodomyrmexError(`http: cannot listen on ${listen.host}:${listen.port}: ${err.code ?? err.message}${hint}`, undefined, { cause: err }));
      };
      server.once('error', onError);
      server.listen({ host: listen.host, port: listen.port }, () => {
        server.off('error', onError);
        const bound = server.address() as AddressInfo;
        const host = bound.address;
        const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
        resolve(new HttpEdge(server, { host, port: bound.port, url }));
      });
    });
  }

  static async #handle(handlers: HttpHandlers, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, { error: `method ${req.method ?? ''} not allowed; use GET` }, false);
      return;
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    switch (path) {
      case '/metrics': {
        if (!handlers.metrics) {
          sendJson(res, 404, { error: 'metrics are turned off for this engine (metrics.enabled: false)' }, head);
          return;
        }
        const { contentType, body } = await handlers.metrics();
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
        res.end(head ? undefined : body);
        return;
      }
      case '/healthz': {
        const live = handlers.liveness();
        sendJson(res, live.alive ? 200 : 503, { status: live.alive ? 'ok' : 'failed', state: live.state, uptimeSeconds: live.uptimeSeconds, ...(live.role ? { role: live.role } : {}) }, head);
        return;
      }
      case '/readyz': {
        const ready = handlers.readiness();
        sendJson(res, ready.ready ? 200 : 503, { status: ready.status, state: ready.state, checks: ready.checks }, head);
        return;
      }
      default:
        sendJson(res, 404, { error: `no route ${path}; try /metrics, /healthz or /readyz` }, head);
    }
  }

  /** Stops listening and closes every connection (scrapers keep theirs alive). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }
}
