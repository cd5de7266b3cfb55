/**
 * The MCP server's stdio transport: newline-delimited JSON-RPC on stdin/stdout, like the SDK's
 * `StdioServerTransport`, but a message over the size limit is skipped up to its newline and answered with an
 * error (the SDK's read buffer closed the transport, and the server took that for stdin closing: exit 0, no reply),
 * a line that is not JSON-RPC gets a parse error, and writes under backpressure share one `drain` wait (the SDK's
 * one listener per waiting reply made a burst of calls print `MaxListenersExceededWarning`).
 */
import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** The largest message the stdio server reads, in bytes (the SDK's own limit): 10 MiB. */
export const MCP_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/** How much of an oversized line is kept to find its request id: its start and its end. */
const KEEP_BYTES = 512;

/** One line read from the stream, or the news that one was too long (only its two ends are kept). */
export type Frame = { type: 'line'; text: string } | { type: 'oversize'; bytes: number; head: string; tail: string };

/**
 * Splits a byte stream into lines, holding at most `maxBytes` of one line: a longer line is dropped as it arrives
 * (memory stays bounded) and reported once its newline comes, with its size and both ends.
 */
export class LineFramer {
  private parts: Buffer[] = [];
  private size = 0;
  private skipping: { bytes: number; head: Buffer; tail: Buffer } | null = null;

  constructor(private readonly maxBytes: number) {}

  /** The frames completed by `chunk`, in order. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.take(chunk.subarray(start, nl));
      const frame = this.finish();
      if (frame) frames.push(frame);
      start = nl + 1;
    }
    if (start < chunk.length) this.take(chunk.subarray(start));
    return frames;
  }

  private take(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.skipping) {
      this.skipping.bytes += bytes.length;
      this.skipping.tail = lastBytes(Buffer.concat([this.skipping.tail, bytes]));
      return;
    }
    if (this.size + bytes.length <= this.maxBytes) {
      this.parts.push(bytes);
      this.size += bytes.length;
      return;
    }
    const all = Buffer.concat([...this.parts, bytes]);
    this.skipping = { bytes: all.length, head: Buffer.from(all.subarray(0, KEEP_BYTES)), tail: lastBytes(all) };
    this.parts = [];
    this.size = 0;
  }

  private finish(): Frame | null {
    if (this.skipping) {
      const { bytes, head, tail } = this.skipping;
      this.skipping = null;
      return { type: 'oversize', bytes, head: head.toString('utf8'), tail: tail.toString('utf8') };
    }
    const text = Buffer.concat(this.parts).toString('utf8').replace(/\r$/, '');
    this.parts = [];
    this.size = 0;
    return text.trim() === '' ? null : { type: 'line', text };
  }
}

const lastBytes = (b: Buffer): Buffer => (b.length <= KEEP_BYTES ? b : Buffer.from(b.subarray(b.length - KEEP_BYTES)));

const SCALAR = String.raw`(?:-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*"|true|false|null)`;
const PAIR = String.raw`\s*"(?:[^"\\]|\\.)*"\s*:\s*${SCALAR}\s*`;
/** Scalar members at the start of the top-level object (`{"jsonrpc":"2.0","id":7,…`). */
const LEADING = new RegExp(String.raw`^\s*\{(?:${PAIR},)*`);
/** Scalar members at the end of the top-level object (`…,"jsonrpc":"2.0","id":7}`, as the SDK's client writes). */
const TRAILING = new RegExp(String.raw`(?:,${PAIR})+\}\s*$`);
const ID = new RegExp(String.raw`"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")`);

/**
 * The request id of a message known only by its two ends, when one of them shows it among the top-level object's
 * scalar members; `null` when it cannot be told (a notification, or an id buried after a large member).
 */
export function requestIdOf(head: string, tail: string): string | number | null {
  for (const [text, re] of [
    [head, LEADING],
    [tail, TRAILING],
  ] as const) {
    const members = re.exec(text)?.[0];
    const id = members ? ID.exec(members)?.[1] : undefined;
    if (id !== undefined) return JSON.parse(id) as string | number;
  }
  return null;
}

const MIB = 1024 * 1024;
const size = (bytes: number): string =>
  bytes % MIB === 0 ? `${bytes / MIB} MiB` : bytes >= MIB ? `${(bytes / MIB).toFixed(1)} MiB` : `${bytes} bytes`;

/** A {@link Transport} over a byte stream pair (stdin/stdout by default), as described in this file's header. */
export class BoundedStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private readonly framer: LineFramer;
  private drained: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly input: Readable = process.stdin,
    private readonly output: Writable = process.stdout,
    private readonly options: { maxMessageBytes?: number; warn?: (line: string) => void } = {},
  ) {
    this.framer = new LineFramer(options.maxMessageBytes ?? MCP_MAX_MESSAGE_BYTES);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    for (const frame of this.framer.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) this.receive(frame);
  };
  private readonly onEnd = (): void => void this.close();
  private readonly onError = (error: Error): void => this.onerror?.(error);

  async start(): Promise<void> {
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('close', this.onEnd);
    this.input.on('error', this.onError);
    return Promise.resolve();
  }

  private receive(frame: Frame): void {
    if (frame.type === 'oversize') {
      const limit = this.options.maxMessageBytes ?? MCP_MAX_MESSAGE_BYTES;
      const id = requestIdOf(frame.head, frame.tail);
      const message = `message too large: a message of ${size(frame.bytes)} is over the limit of ${size(limit)} and was skipped; pass large values by reference (a file path, a URL) instead of inline`;
      (this.options.warn ?? ((line: string) => process.stderr.write(`${line}\n`)))(
        `codomyrmex mcp: ${message}${id === null ? ' (no request id could be read from it)' : ` (request id ${JSON.stringify(id)})`}`,
      );
      void this.send({ jsonrpc: '2.0', id: id as string | number, error: { code: -32600, message } }).catch(
        () => undefined,
      );
      return;
    }
    let message: JSONRPCMessage;
    try {
      message = JSONRPCMessageSchema.parse(JSON.parse(frame.text));
    } catch (err) {
      const reason = err instanceof SyntaxError ? `not JSON (${err.message})` : 'not a JSON-RPC 2.0 message';
      void this.send({
        jsonrpc: '2.0',
        id: null as unknown as string,
        error: { code: -32700, message: `parse error: the line is ${reason}` },
      }).catch(() => undefined);
      return;
    }
    this.onmessage?.(message);
  }

  /** Writes one message; under backpressure every waiting send shares a single `drain` listener. */
  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return;
    if (this.output.write(`${JSON.stringify(message)}\n`)) return;
    this.drained ??= new Promise<void>((resolve) => {
      this.output.once('drain', () => {
        this.drained = null;
        resolve();
      });
    });
    await this.drained;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('close', this.onEnd);
    this.input.off('error', this.onError);
    if (this.input.listenerCount('data') === 0) this.input.pause();
    this.onclose?.();
    return Promise.resolve();
  }
}
