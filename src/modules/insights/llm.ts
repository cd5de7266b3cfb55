/**
 * A minimal client of an OpenAI-compatible chat-completions endpoint (`POST {baseUrl}/chat/completions`), over
 * `fetch`, with a timeout. Configured from the environment: `CODOMYRMEX_LLM_BASE_URL` (e.g.
 * `http://127.0.0.1:11434/v1`), `CODOMYRMEX_LLM_MODEL`, and the key in `CODOMYRMEX_LLM_API_KEY` (never a
 * parameter: parameters are stored).
 */
import { CodomyrmexError, ErrorCode, NonRetryableError } from '../../errors.js';

export interface LlmConfig {
  baseUrl: string;
  model: string;
  apiKey: string | undefined;
  timeoutMs: number;
}

/** The endpoint from explicit values, else the environment; null when no endpoint is configured. */
export function llmConfig(
  overrides: { baseUrl?: string | undefined; model?: string | undefined; timeoutMs: number },
  env: NodeJS.ProcessEnv = process.env,
): LlmConfig | null {
  const baseUrl = overrides.baseUrl ?? env['CODOMYRMEX_LLM_BASE_URL'];
  const model = overrides.model ?? env['CODOMYRMEX_LLM_MODEL'];
  if (!baseUrl || !model) return null;
  return {
    baseUrl: baseUrl.replace(/\/+$/, ''),
    model,
    apiKey: env['CODOMYRMEX_LLM_API_KEY'] || undefined,
    timeoutMs: overrides.timeoutMs,
  };
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Error from the model endpoint: `ACTION_FAILED` (retryable) for timeouts, refused connections and 5xx/429 answers, else `NON_RETRYABLE`. */
export class LlmError extends CodomyrmexError {
  override name = 'LlmError';
  readonly #retryable: boolean;
  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, retryable ? ErrorCode.ACTION_FAILED : ErrorCode.NON_RETRYABLE, options);
    this.#retryable = retryable;
  }
  override get retryable(): boolean {
    return this.#retryable;
  }
}

const MAX_REPLY_BYTES = 4 * 2 ** 20;

/** Sends one chat completion and returns the first choice's text. */
export async function chatCompletion(
  cfg: LlmConfig,
  messages: ChatMessage[],
  signal: AbortSignal,
): Promise<{ text: string; model: string; usage: unknown }> {
  const url = `${cfg.baseUrl}/chat/completions`;
  const timeout = AbortSignal.timeout(cfg.timeoutMs);
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (cfg.apiKey) headers['authorization'] = `Bearer ${cfg.apiKey}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: cfg.model, messages, temperature: 0 }),
      signal: AbortSignal.any([signal, timeout]),
    });
  } catch (cause) {
    if (timeout.aborted)
      throw new LlmError(`model endpoint ${url} did not answer within ${cfg.timeoutMs} ms`, true, { cause });
    if (signal.aborted) throw new NonRetryableError('cancelled while waiting for the model', { cause });
    const inner = (cause as { cause?: { code?: string; message?: string } }).cause;
    throw new LlmError(
      `model endpoint ${url} unreachable: ${inner?.code ?? inner?.message ?? (cause as Error).message}`,
      true,
      { cause },
    );
  }
  let body: string;
  try {
    body = await res.text();
  } catch (cause) {
    throw new LlmError(
      `model endpoint ${url}: reading the answer failed${timeout.aborted ? ` (timeout after ${cfg.timeoutMs} ms)` : ''}`,
      true,
      { cause },
    );
  }
  if (body.length > MAX_REPLY_BYTES)
    throw new LlmError(`model endpoint ${url}: answer over ${MAX_REPLY_BYTES} bytes`, false);
  if (!res.ok) {
    const retryable = res.status >= 500 || res.status === 429;
    throw new LlmError(`model endpoint ${url} answered HTTP ${res.status}: ${body.slice(0, 300)}`, retryable);
  }
  let parsed: { model?: unknown; choices?: { message?: { content?: unknown } }[]; usage?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch (cause) {
    throw new LlmError(`model endpoint ${url} answered with something that is not JSON: ${body.slice(0, 200)}`, false, {
      cause,
    });
  }
  const text = parsed.choices?.[0]?.message?.content;
  if (typeof text !== 'string')
    throw new LlmError(`model endpoint ${url}: no choices[0].message.content in the answer`, false);
  return { text, model: typeof parsed.model === 'string' ? parsed.model : cfg.model, usage: parsed.usage ?? null };
}
