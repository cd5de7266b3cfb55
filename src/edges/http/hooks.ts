/**
 * Webhook triggers on the HTTP edge: `POST /hooks/<path>` with the raw body signed as `X-Codomyrmex-Signature:
 * sha256=<hex HMAC-SHA256 of the body>` (GitHub's convention). The edge only reads the body (at most 1 MiB: 413
 * past it) and hands it to the trigger component (`trigger.http`), which checks the signature and starts the run:
 * 202 with the run id, 401 for a wrong or missing signature, 404 for no such trigger, 409 while it is paused, 400 for
 * a body that is not JSON.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebhookReply } from '../../bus/protocol.js';

/** The largest webhook body taken, in bytes. */
export const MAX_HOOK_BODY_BYTES = 1024 * 1024;

/** Hands a webhook to the engine (the bus's `trigger.http`). */
export type HookReceiver = (hook: { path: string; body: string; signature?: string }) => Promise<WebhookReply>;

const STATUS: Record<Exclude<WebhookReply, { accepted: true }>['reason'], number> = {
  unauthorized: 401,
  not_found: 404,
  paused: 409,
  bad_request: 400,
};

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** Whether the request is a webhook (the caller routes it here). */
export function isHook(method: string | undefined, path: string): boolean {
  return path.startsWith('/hooks/') && method === 'POST';
}

/** Reads the body (refusing one past 1 MiB with 413), then answers with the trigger's verdict. */
export async function handleHook(
  receive: HookReceiver,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_HOOK_BODY_BYTES) {
    send(res, 413, { error: `the body is ${declared} bytes; webhooks take at most ${MAX_HOOK_BODY_BYTES}` });
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_HOOK_BODY_BYTES) {
      send(res, 413, { error: `the body is over ${MAX_HOOK_BODY_BYTES} bytes; webhooks take at most that` });
      req.destroy();
      return;
    }
    chunks.push(chunk);
  }
  const signature = req.headers['x-codomyrmex-signature'];
  // latin1 keeps every byte as one character, so the signature is checked over the exact bytes received.
  const reply = await receive({
    path,
    body: Buffer.concat(chunks).toString('latin1'),
    ...(typeof signature === 'string' ? { signature } : {}),
  });
  if (reply.accepted) send(res, 202, { runId: reply.runId });
  else send(res, STATUS[reply.reason], { error: reply.message });
}
