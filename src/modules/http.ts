import { z } from 'zod';
import { CodomyrmexError, ErrorCode, NonRetryableError } from '../errors.js';
import { defineAction, defineModule } from './contract.js';

/**
 * An HTTP failure: `ACTION_FAILED` (retryable) for refused or hung connections, 5xx and 429, else `NON_RETRYABLE`;
 * the status, when there was one, as data `{ status }`.
 */
export class HttpError extends CodomyrmexError {
  override name = 'HttpError';
  readonly #retryable: boolean;
  constructor(message: string, retryable: boolean, status: number | null = null, options?: { cause?: unknown }) {
    super(message, retryable ? ErrorCode.ACTION_FAILED : ErrorCode.NON_RETRYABLE, {
      ...options,
      data: status === null ? undefined : { status },
    });
    this.#retryable = retryable;
  }
  override get retryable(): boolean {
    return this.#retryable;
  }
}

const MiB = 2 ** 20;

/** Reads a response body up to `max` bytes; past it, stops reading and fails (no retry: it would be as big). */
async function readLimited(res: Response, max: number, url: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel();
    throw new NonRetryableError(`${url}: response of ${declared} bytes is over maxBytes ${max}`);
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > max) {
      await res.body.cancel().catch(() => undefined);
      throw new NonRetryableError(`${url}: response is over maxBytes ${max} (stopped reading at ${total} bytes)`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** HTTP requests with a timeout, a status check and a size limit. */
export default defineModule({
  name: 'http',
  description: 'HTTP requests (fetch) with timeout, status check and size limit',
  actions: {
    request: defineAction({
      description:
        'Sends `method` to `url` (http or https) with `headers` and a `json` or text `body`; fails when the status is not in `expectStatus` (default: any 2xx), when no answer comes within `timeoutMs`, or when the body is over `maxBytes`. Refused and hung connections, 5xx and 429 are retried; other failures are not.',
      output:
        '{ url, status, ok, headers, body (parsed JSON when the response is JSON, else text), bytes, durationMs }',
      channel: true,
      params: z
        .object({
          url: z
            .string()
            .url()
            .refine((u) => /^https?:\/\//i.test(u), 'must be an http:// or https:// URL'),
          method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
          headers: z.record(z.string()).default({}),
          json: z.unknown().optional().describe('sent as the JSON body (content-type set)'),
          body: z.string().optional().describe('sent as is'),
          timeoutMs: z.number().int().min(1).max(3_600_000).default(30_000),
          expectStatus: z
            .array(z.number().int().min(100).max(599))
            .optional()
            .describe('accepted statuses (default: 200-299)'),
          maxBytes: z
            .number()
            .int()
            .min(0)
            .max(1024 * MiB)
            .default(10 * MiB),
          responseType: z.enum(['auto', 'json', 'text']).default('auto'),
        })
        .strict()
        .refine((p) => p.json === undefined || p.body === undefined, {
          message: 'give either json or body, not both',
          path: ['body'],
        }),
      run: async (p, ctx) => {
        const started = Date.now();
        const timeout = AbortSignal.timeout(p.timeoutMs);
        const headers: Record<string, string> = { ...p.headers };
        let body: string | undefined = p.body;
        if (p.json !== undefined) {
          body = JSON.stringify(p.json);
          if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
            headers['content-type'] = 'application/json';
        }
        let res: Response;
        let data: Buffer;
        try {
          res = await fetch(p.url, {
            method: p.method,
            headers,
            body: body ?? null,
            signal: AbortSignal.any([ctx.signal, timeout]),
            redirect: 'follow',
          });
          data = await readLimited(res, p.maxBytes, p.url);
        } catch (cause) {
          if (cause instanceof NonRetryableError) throw cause;
          if (timeout.aborted)
            throw new HttpError(`${p.method} ${p.url}: no answer within ${p.timeoutMs} ms`, true, null, { cause });
          if (ctx.signal.aborted) throw new NonRetryableError(`${p.method} ${p.url}: cancelled`, { cause });
          const inner = (cause as { cause?: { code?: string; message?: string } }).cause;
          const code = inner?.code ?? '';
          const what =
            code === 'ECONNREFUSED'
              ? 'connection refused'
              : code === 'ENOTFOUND'
                ? 'host not found'
                : (inner?.message ?? (cause as Error).message);
          throw new HttpError(`${p.method} ${p.url}: ${what}`, code !== 'ENOTFOUND', null, { cause });
        }
        const expected = p.expectStatus ? p.expectStatus.includes(res.status) : res.status >= 200 && res.status < 300;
        const text = data.toString('utf8');
        if (!expected) {
          const retryable = res.status >= 500 || res.status === 429;
          throw new HttpError(
            `${p.method} ${p.url}: HTTP ${res.status}${p.expectStatus ? ` (expected ${p.expectStatus.join(', ')})` : ''}: ${text.slice(0, 300)}`,
            retryable,
            res.status,
          );
        }
        const isJson =
          p.responseType === 'json' ||
          (p.responseType === 'auto' && /\bjson\b/i.test(res.headers.get('content-type') ?? ''));
        let parsed: unknown = text;
        if (isJson && text.length > 0) {
          try {
            parsed = JSON.parse(text);
          } catch (cause) {
            throw new NonRetryableError(
              `${p.method} ${p.url}: the response is not valid JSON (${(cause as Error).message})`,
              { cause },
            );
          }
        }
        return {
          url: res.url || p.url,
          status: res.status,
          ok: res.ok,
          headers: Object.fromEntries(res.headers),
          body: parsed,
          bytes: data.length,
          durationMs: Date.now() - started,
        };
      },
    }),
  },
});
