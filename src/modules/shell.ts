import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { NonRetryableError } from '../errors.js';
import { defineAction, defineModule } from './contract.js';
import { LIMITS } from '../model/limits.js';
import { displayPath, insideWorkingDir, resolveForWrite } from './paths.js';

/**
 * Keeps the first and last `limit / 2` bytes of a stream and counts the rest, so a command that floods its output
 * cannot exhaust memory; the dropped middle is replaced by a note saying how much was left out.
 */
export class BoundedOutput {
  readonly #half: number;
  readonly #head: Buffer[] = [];
  #headBytes = 0;
  #tail: Buffer[] = [];
  #tailBytes = 0;
  total = 0;

  constructor(limit: number) {
    this.#half = Math.max(1, Math.floor(limit / 2));
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.#headBytes < this.#half) {
      const take = chunk.subarray(0, this.#half - this.#headBytes);
      this.#head.push(take);
      this.#headBytes += take.length;
      chunk = chunk.subarray(take.length);
      if (chunk.length === 0) return;
    }
    this.#tail.push(chunk);
    this.#tailBytes += chunk.length;
    while (this.#tailBytes - (this.#tail[0]?.length ?? 0) >= this.#half)
      this.#tailBytes -= (this.#tail.shift() as Buffer).length;
  }

  get truncated(): boolean {
    return this.total > this.#headBytes + Math.min(this.#tailBytes, this.#half);
  }

  text(): string {
    const head = Buffer.concat(this.#head).toString('utf8');
    let tail = Buffer.concat(this.#tail);
    if (tail.length > this.#half) tail = tail.subarray(tail.length - this.#half);
    const dropped = this.total - this.#headBytes - tail.length;
    return dropped > 0
      ? `${head}\n[… ${dropped} bytes of output truncated …]\n${tail.toString('utf8')}`
      : head + tail.toString('utf8');
  }
}

/**
 * Runs programs. Without `shell: true` the command is executed directly (no shell interprets the arguments).
 * Output is bounded (head and tail kept, the middle dropped with a note). Cancellation and timeouts kill the child.
 */
export default defineModule({
  name: 'shell',
  description: 'Runs a command (no shell unless asked), with bounded output',
  actions: {
    run: defineAction({
      description:
        'Runs `command` with `args` in `cwd` (inside the working folder) with `env` added to the environment; returns exit code, stdout and stderr (each bounded to `maxOutputBytes`, the middle of a flood dropped with a note). A non-zero exit fails the attempt unless `allowFailure`.',
      output:
        '{ command, args, cwd, exitCode, signal, stdout, stderr, stdoutBytes, stderrBytes, truncated, durationMs, written?: [path] (with `writes`) }',
      channel: true,
      params: z
        .object({
          command: z.string().min(1),
          args: z.array(z.string()).max(10_000).default([]),
          cwd: z.string().default('.').describe('inside the working folder'),
          env: z.record(z.string()).default({}).describe('added to (and overriding) the inherited environment'),
          inheritEnv: z
            .boolean()
            .default(true)
            .describe("start from the worker's environment (false: only PATH, HOME and `env`)"),
          input: z
            .string()
            .max(16 * 2 ** 20)
            .optional()
            .describe("written to the command's stdin"),
          shell: z.boolean().default(false),
          allowFailure: z.boolean().default(false),
          writes: z
            .array(z.string().min(1).max(LIMITS.maxWrittenPathLength))
            .max(1000)
            .default([])
            .describe(
              "files or folders the command writes (relative to `cwd`, inside the working folder): those there once it ends are the step's `written`",
            ),
          maxOutputBytes: z
            .number()
            .int()
            .min(1024)
            .max(64 * 2 ** 20)
            .default(256 * 1024),
        })
        .strict(),
      run: ({ command, args, cwd, env, inheritEnv, input, shell, allowFailure, writes, maxOutputBytes }, ctx) =>
        new Promise((resolve, reject) => {
          const dir = insideWorkingDir(cwd, 'cwd');
          // What the command is said to write is checked before it runs (inside the working folder, no symlink).
          const declared = writes.map((w, i) => resolveForWrite(resolvePath(dir, w), `writes[${i}]`).target);
          const started = Date.now();
          const base = inheritEnv ? process.env : { PATH: process.env['PATH'], HOME: process.env['HOME'] };
          const child = spawn(command, args, {
            cwd: dir,
            env: { ...base, ...env },
            shell,
            signal: ctx.signal,
            stdio: ['pipe', 'pipe', 'pipe'],
          });
          const stdout = new BoundedOutput(maxOutputBytes);
          const stderr = new BoundedOutput(maxOutputBytes);
          child.stdout.on('data', (c: Buffer) => stdout.push(c));
          child.stderr.on('data', (c: Buffer) => stderr.push(c));
          child.stdin.on('error', () => {}); // the child may exit without reading its input
          child.stdin.end(input ?? '');
          let failed: NodeJS.ErrnoException | null = null;
          child.on('error', (err: NodeJS.ErrnoException) => {
            failed = err;
          });
          child.on('close', (code, signal) => {
            const err = failed;
            if (err?.code === 'ENOENT') {
              reject(new NonRetryableError(`command "${command}" not found; check it is installed and on PATH`));
              return;
            }
            if (err && err.name === 'AbortError') {
              reject(new Error(`"${command}" stopped: ${String(ctx.signal.reason ?? 'aborted')}`));
              return;
            }
            if (err) {
              reject(new Error(`"${command}" could not run: ${err.message}`));
              return;
            }
            const out = {
              command,
              args,
              cwd: displayPath(dir),
              exitCode: code,
              signal,
              stdout: stdout.text(),
              stderr: stderr.text(),
              stdoutBytes: stdout.total,
              stderrBytes: stderr.total,
              truncated: stdout.truncated || stderr.truncated,
              durationMs: Date.now() - started,
              ...(declared.length > 0 && { written: declared.filter((f) => existsSync(f)).map(displayPath) }),
            };
            if (code !== 0 && !allowFailure) {
              const why = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
              reject(
                Object.assign(
                  new Error(`"${[command, ...args].join(' ')}" ${why}: ${(out.stderr || out.stdout).slice(-500)}`),
                  { output: out },
                ),
              );
            } else resolve(out);
          });
        }),
    }),
  },
});
