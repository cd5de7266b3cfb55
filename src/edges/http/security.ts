/**
 * The HTTP edge's safety rules, in one place: who may call (a bearer token when one is set, never in a URL), where a
 * mutating call may come from (the console's own origin), and the headers every response carries (a strict
 * Content-Security-Policy: scripts only from the daemon itself, nothing inline, nothing evaluated).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { ValidationError } from '../../errors.js';

/** Every response's security headers. `connect-src 'self'` covers the API and the event stream. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export function setSecurityHeaders(res: ServerResponse): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
}

/** Whether `host` is a loopback address (or `localhost`). */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

/** Refuses to serve the API on a non-loopback address without a token (the daemon's `--http` with `--auth-token`). */
export function checkBindable(host: string, token: string | null, apiOn: boolean): void {
  if (apiOn && token === null && !isLoopback(host)) {
    throw new ValidationError(
      `http: refusing to serve the console and command API on ${host} (not a loopback address) without a token; set --auth-token (or CODOMYRMEX_AUTH_TOKEN, or http.authToken), bind 127.0.0.1, or turn the console off (--console off)`,
    );
  }
}

/** Query parameters that look like a credential: refused in any URL so that tokens never land in logs or history. */
const TOKEN_PARAMS = ['token', 'access_token', 'auth', 'authorization', 'auth_token', 'api_key', 'apikey', 'bearer'];

export type AuthOutcome = { ok: true } | { ok: false; status: 400 | 401; message: string };

/** Checks a request's credentials against the token (if any). */
export function authenticate(req: IncomingMessage, url: URL, token: string | null): AuthOutcome {
  for (const p of TOKEN_PARAMS) {
    if (url.searchParams.has(p))
      return {
        ok: false,
        status: 400,
        message: `a token in the URL (?${p}=) is refused: URLs end up in logs and history; send it as the header "Authorization: Bearer TOKEN"`,
      };
  }
  if (token === null) return { ok: true };
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m?.[1])
    return {
      ok: false,
      status: 401,
      message: 'this daemon needs a token: send "Authorization: Bearer TOKEN" (the --auth-token it was started with)',
    };
  const given = Buffer.from(m[1]);
  const want = Buffer.from(token);
  if (given.length !== want.length || !timingSafeEqual(given, want))
    return {
      ok: false,
      status: 401,
      message: 'the token is wrong: send the --auth-token this daemon was started with',
    };
  return { ok: true };
}

/**
 * Whether a mutating request comes from the console's own origin. A browser always sends `Origin` on a cross-site
 * POST; a request without one (curl, the CLI) is not a browser's and passes. `Sec-Fetch-Site: cross-site` is refused
 * as well.
 */
export function sameOrigin(req: IncomingMessage): { ok: true } | { ok: false; message: string } {
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site')
    return {
      ok: false,
      message:
        'cross-site request refused (Sec-Fetch-Site: cross-site); call the API from the console or without a browser',
    };
  if (origin === undefined) return { ok: true };
  const host = req.headers.host;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return { ok: false, message: `cross-origin request refused: Origin "${origin}" is not a URL` };
  }
  if (host === undefined || originHost !== host)
    return {
      ok: false,
      message: `cross-origin request refused: Origin ${origin} is not this console's (http://${host ?? '?'})`,
    };
  return { ok: true };
}
