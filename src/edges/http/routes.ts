/**
 * The HTTP edge's routes and who may use them:
 *
 * | path | methods | token |
 * | --- | --- | --- |
 * | `/healthz`, `/readyz` | GET, HEAD | never |
 * | `/metrics` | GET, HEAD | with `authMetrics` |
 * | `/`, `/runs/...` and the other console pages, `/assets/...` | GET, HEAD | never (they hold no data: the page asks for the token) |
 * | `/api/v1/...` | GET, HEAD; POST for `cmd/<component>/<verb>` | when one is set |
 * | `/hooks/...` | POST (webhook triggers, hooks.ts) | never: each is signed with its trigger's secret |
 *
 * A POST whose `Origin` is not the console's own is refused (403), with or without a token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OrchestrationEngine } from '../../actors/engine/engine.js';
import type { HttpHandlers } from '../../actors/engine/views.js';
import { errorReply } from '../../bus/wire.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { Api } from './api.js';
import { sendEnvelope, sendJson } from './replies.js';
import type { ConsoleAssets } from './assets.js';
import { authenticate, sameOrigin } from './security.js';
import { handleHook, isHook } from './hooks.js';
import { negotiateFormat } from '../../metrics/openMetrics.js';

export interface Routes {
  handlers: HttpHandlers;
  api: Api | null;
  assets: ConsoleAssets | null;
  engine: OrchestrationEngine | null;
  token: string | null;
  authMetrics: boolean;
}

/** The console's pages: any of these paths answers with the page, which routes in the browser. */
const PAGES = /^\/(runs(\/[^/]+)?|tasks|workers|resources|sessions|workflows(\/[^/]+)?|schedules|login)?\/?$/;

/** A request refused by the token or origin check: bad input (`VALIDATION`, not retryable as it is). */
class AuthError extends ValidationError {
  override readonly name = 'AuthError';
}

function refuse(res: ServerResponse, status: number, message: string): void {
  const env = errorReply(new AuthError(message));
  if (status === 401) res.setHeader('www-authenticate', 'Bearer realm="codomyrmex"');
  sendJson(res, status, env);
}

export async function handle(r: Routes, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const head = method === 'HEAD';
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;

  if (r.engine && isHook(method, path)) {
    const bus = r.engine.bus;
    return handleHook((hook) => bus.request('trigger.http', hook), path, req, res);
  }

  if (path.startsWith('/api/')) {
    if (!r.api) {
      sendJson(
        res,
        404,
        errorReply(new NotFoundError('the console and API are turned off on this daemon (--console off)')),
      );
      return;
    }
    const auth = authenticate(req, url, r.token);
    if (!auth.ok) return refuse(res, auth.status, auth.message);
    const parts = path
      .slice(1)
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    if (parts[1] !== 'v1')
      return sendEnvelope(res, errorReply(new NotFoundError(`no API ${parts[1] ?? ''}; this daemon serves /api/v1/`)));
    const rest = parts.slice(2);
    if (rest[0] === 'cmd') {
      if (method !== 'POST') {
        res.setHeader('allow', 'POST');
        return sendJson(
          res,
          405,
          errorReply(
            new ValidationError(
              `method ${method} not allowed; commands are POST /api/v1/cmd/<component>/<verb> with a JSON body`,
            ),
          ),
        );
      }
      const origin = sameOrigin(req);
      if (!origin.ok) return refuse(res, 403, origin.message);
      if (rest.length !== 3)
        return sendEnvelope(
          res,
          errorReply(
            new NotFoundError('commands are POST /api/v1/cmd/<component>/<verb>, e.g. /api/v1/cmd/workflow/start'),
          ),
        );
      return r.api.command(req, res, rest[1]!, rest[2]!);
    }
    if (method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(
        res,
        405,
        errorReply(
          new ValidationError(
            `method ${method} not allowed here; use GET (commands are POST /api/v1/cmd/<component>/<verb>)`,
          ),
        ),
      );
    }
    if (await r.api.get(req, res, url, rest, head)) return;
    return sendEnvelope(
      res,
      errorReply(new NotFoundError(`no route ${path}; see README "HTTP API" for the routes under /api/v1/`)),
    );
  }

  if (method !== 'GET' && !head) {
    res.setHeader('allow', 'GET, HEAD');
    sendJson(res, 405, { error: `method ${method} not allowed; use GET` }, false);
    return;
  }
  switch (path) {
    case '/metrics': {
      if (r.authMetrics) {
        const auth = authenticate(req, url, r.token);
        if (!auth.ok) return refuse(res, auth.status, auth.message);
      }
      if (!r.handlers.metrics) {
        sendJson(res, 404, { error: 'metrics are turned off for this engine (metrics.enabled: false)' }, head);
        return;
      }
      // OpenMetrics (with exemplars) when the scrape asks for it, as Prometheus does; the Prometheus text format otherwise.
      const { contentType, body } = await r.handlers.metrics(negotiateFormat(req.headers.accept));
      res.writeHead(200, {
        'content-type': contentType,
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
      });
      res.end(head ? undefined : body);
      return;
    }
    case '/healthz': {
      const live = r.handlers.liveness();
      sendJson(
        res,
        live.alive ? 200 : 503,
        {
          status: live.alive ? 'ok' : 'failed',
          state: live.state,
          uptimeSeconds: live.uptimeSeconds,
          ...(live.role ? { role: live.role } : {}),
        },
        head,
      );
      return;
    }
    case '/readyz': {
      const ready = r.handlers.readiness();
      sendJson(res, ready.ready ? 200 : 503, { status: ready.status, state: ready.state, checks: ready.checks }, head);
      return;
    }
  }
  if (r.assets && path.startsWith('/assets/')) {
    const asset = r.assets.asset(path.slice('/assets/'.length));
    if (!asset) return sendJson(res, 404, { error: `no console file ${path}` }, head);
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': asset.body.length,
      'cache-control': 'no-cache',
    });
    res.end(head ? undefined : asset.body);
    return;
  }
  if (r.assets && PAGES.test(path)) {
    let page;
    try {
      page = r.assets.page();
    } catch {
      return sendJson(
        res,
        500,
        {
          error:
            'the console files are missing from this install (console/index.html); reinstall, or run `npm run build` in a checkout',
        },
        head,
      );
    }
    // A run that does not exist is a 404 (the page says so and links back), also for the browser's address bar.
    const runId = /^\/runs\/([^/]+)\/?$/.exec(path)?.[1];
    const missing =
      runId !== undefined &&
      r.engine !== null &&
      (await r.engine.workflows.getRun(decodeURIComponent(runId)).catch(() => null)) === null;
    res.writeHead(missing ? 404 : 200, {
      'content-type': page.type,
      'content-length': page.body.length,
      'cache-control': 'no-cache',
    });
    res.end(head ? undefined : page.body);
    return;
  }
  sendJson(
    res,
    404,
    {
      error: `no route ${path}; try /metrics, /healthz or /readyz${r.assets ? ', the console at /, or the API under /api/v1/' : ''}`,
    },
    head,
  );
}
