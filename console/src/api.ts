/**
 * The console's side of the HTTP API: every call sends the token (if one is stored) as `Authorization: Bearer`,
 * commands go to `POST /api/v1/cmd/<component>/<verb>`, and the event stream is read with `fetch` (an
 * `EventSource` cannot send the header), resuming with `Last-Event-ID` after a disconnect.
 */

const TOKEN_KEY = 'codomyrmex.token';

/** The error of an API call: the envelope's error, or the HTTP status. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly issues: string[] = [],
  ) {
    super(message);
  }
}

type Listener = () => void;
const authListeners = new Set<Listener>();

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token === null) localStorage.removeItem(TOKEN_KEY);
  else localStorage.setItem(TOKEN_KEY, token);
}

/** Called when a call is refused for want of a (right) token. */
export function onAuthNeeded(fn: Listener): () => void {
  authListeners.add(fn);
  return () => authListeners.delete(fn);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = getToken();
  return { ...extra, ...(token ? { authorization: `Bearer ${token}` } : {}) };
}

interface Envelope<T> {
  ok: boolean;
  result?: T;
  error?: { code: string; message: string; issues?: string[] };
}

async function unwrap<T>(res: Response): Promise<T> {
  let body: Envelope<T>;
  try {
    body = (await res.json()) as Envelope<T>;
  } catch {
    throw new ApiError(`HTTP ${res.status} with a body that is not JSON`, res.status, 'INTERNAL');
  }
  if (res.status === 401) for (const fn of authListeners) fn();
  if (body.ok) return body.result as T;
  const e = body.error ?? { code: 'INTERNAL', message: `HTTP ${res.status}` };
  throw new ApiError(e.message, res.status, e.code, e.issues ?? []);
}

/** `GET /api/v1/<path>`. */
export async function get<T>(path: string): Promise<T> {
  return unwrap<T>(await fetch(`/api/v1/${path}`, { headers: headers() }));
}

/** `POST /api/v1/cmd/<component>/<verb>`. */
export async function command<T>(type: string, payload: unknown): Promise<T> {
  const [component, verb] = type.split('.');
  return unwrap<T>(
    await fetch(`/api/v1/cmd/${component ?? ''}/${verb ?? ''}`, {
      method: 'POST',
      headers: headers({ 'content-type': 'application/json' }),
      body: JSON.stringify(payload),
    }),
  );
}

/** One event of the stream. */
export interface StreamEvent {
  seq: number;
  type: string;
  timestamp: number;
  data: Record<string, unknown>;
}

/**
 * Follows `/api/v1/events` (optionally one run's) and calls `onEvent` for each event, reconnecting after a drop
 * with the last id seen. Returns the function that stops it.
 */
export function follow(
  query: { runId?: string; types?: string[] },
  onEvent: (e: StreamEvent) => void,
  onState?: (live: boolean) => void,
): () => void {
  const ctrl = new AbortController();
  let last: string | null = null;
  const params = new URLSearchParams();
  if (query.runId) params.set('runId', query.runId);
  if (query.types?.length) params.set('types', query.types.join(','));
  const url = `/api/v1/events${params.size ? `?${params.toString()}` : ''}`;
  const loop = async (): Promise<void> => {
    while (!ctrl.signal.aborted) {
      try {
        const res = await fetch(url, { headers: headers(last ? { 'last-event-id': last } : {}), signal: ctrl.signal });
        if (res.status === 401) {
          for (const fn of authListeners) fn();
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        onState?.(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('id: ')) last = line.slice(4);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (data) onEvent(JSON.parse(data) as StreamEvent);
          }
        }
      } catch {
        if (ctrl.signal.aborted) return;
      }
      onState?.(false);
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  void loop();
  return () => ctrl.abort();
}
