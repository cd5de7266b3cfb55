/** The MCP transports at their size limit: stdio lines skipped with their request id found and parse errors answered; HTTP 413. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { serveHttp } from '../../src/edges/mcp/serve.js';
import { BoundedStdioTransport, LineFramer, MCP_MAX_MESSAGE_BYTES, requestIdOf } from '../../src/edges/mcp/stdio.js';

describe('LineFramer', () => {
  it('splits lines across chunks and reports a long line by its size and ends, holding no more than the limit', () => {
    const f = new LineFramer(16);
    expect(f.push(Buffer.from('{"a":1}\n{"b"'))).toEqual([{ type: 'line', text: '{"a":1}' }]);
    expect(f.push(Buffer.from(':2}\r\n'))).toEqual([{ type: 'line', text: '{"b":2}' }]);
    const frames = f.push(
      Buffer.concat([Buffer.from('{"id":3,"x":"'), Buffer.alloc(40, 'y'), Buffer.from('"}\n{"c":3}\n')]),
    );
    expect(frames).toEqual([
      {
        type: 'oversize',
        bytes: 55,
        head: expect.stringMatching(/^\{"id":3,"x":"y+"\}$/) as string,
        tail: expect.stringMatching(/y"\}$/) as string,
      },
      { type: 'line', text: '{"c":3}' },
    ]);
  });
});

describe('requestIdOf', () => {
  it('finds the id among the top-level scalars at either end, never inside a value', () => {
    expect(requestIdOf('{"jsonrpc":"2.0","id":"r-1","method":"tools/call","params":{"x":"aaa', 'aaa"}}')).toBe('r-1');
    expect(
      requestIdOf('{"method":"tools/call","params":{"arguments":{"v":"aaa', 'aaa"}},"jsonrpc":"2.0","id":12}'),
    ).toBe(12);
    expect(requestIdOf('{"method":"tools/call","params":{"id":5,"v":"aaa', 'aaa","id":6}}')).toBeNull();
    expect(requestIdOf('{"method":"notifications/x","params":{"v":"aaa', 'aaa"},"jsonrpc":"2.0"}')).toBeNull();
  });
});

describe('BoundedStdioTransport', () => {
  it('answers an oversized request with its id and a line that is not JSON-RPC with a parse error, then goes on', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const warnings: string[] = [];
    const t = new BoundedStdioTransport(input, output, { maxMessageBytes: 64, warn: (l) => warnings.push(l) });
    const received: unknown[] = [];
    t.onmessage = (m) => received.push(m);
    await t.start();
    input.write(
      `{"method":"ping","params":{"v":"${'z'.repeat(100)}"},"jsonrpc":"2.0","id":9}\nnot json\n{"jsonrpc":"2.0","id":10,"method":"ping"}\n`,
    );
    let written = '';
    const replies = await new Promise<string[]>((resolve) =>
      output.on('data', (c: Buffer) => {
        written += c.toString();
        const lines = written.split('\n').filter(Boolean);
        if (lines.length === 2) resolve(lines);
      }),
    );
    expect(replies.map((l) => JSON.parse(l) as unknown)).toEqual([
      {
        jsonrpc: '2.0',
        id: 9,
        error: {
          code: -32600,
          message: expect.stringContaining('a message of 158 bytes is over the limit of 64 bytes') as string,
        },
      },
      {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: expect.stringContaining('parse error: the line is not JSON') as string },
      },
    ]);
    expect(received).toEqual([{ jsonrpc: '2.0', id: 10, method: 'ping' }]);
    expect(warnings).toEqual([expect.stringContaining('(request id 9)')]);
    await t.close();
  });
});

describe('serveHttp', () => {
  it('answers a body over the limit with 413 naming it', async () => {
    const server = await serveHttp(
      () => {
        throw new Error('no engine is reached for a refused body');
      },
      { port: 0 },
    );
    try {
      const res = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: 'x'.repeat(MCP_MAX_MESSAGE_BYTES + 1),
      });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
        /^message too large: the body is over the limit of 10 MiB/,
      );
    } finally {
      await server.close();
    }
  });
});
