import { execFile } from 'node:child_process';
import { z } from 'zod';
import { NonRetryableError } from '../errors.js';
import { defineAction, defineModule } from './contract.js';
import { insideWorkingDir } from './paths.js';

const MAX_OUTPUT = 64 * 1024;
const tail = (s: string): string => (s.length > MAX_OUTPUT ? `…${s.slice(-MAX_OUTPUT)}` : s);

/**
 * Runs programs. Without `shell: true` the command is executed directly (execFile), so arguments are never
 * interpreted by a shell. Cancellation and timeouts kill the child process (the action has a channel, so it hears
 * the abort before its thread is terminated).
 */
export default defineModule({
  name: 'shell',
  description: 'Runs a command (execFile, no shell unless asked)',
  actions: {
    run: defineAction({
      description: 'Runs `command` with `args` in `cwd` (inside the working folder); returns exit code, stdout and stderr. A non-zero exit fails the attempt.',
      channel: true,
      params: z
        .object({
          command: z.string().min(1),
          args: z.array(z.string()).default([]),
          cwd: z.string().default('.'),
          env: z.record(z.string()).default({}),
          shell: z.boolean().default(false),
          allowFailure: z.boolean().default(false),
        })
        .strict(),
      run: ({ command, args, cwd, env, shell, allowFailure }, ctx) =>
        new Promise((resolve, reject) => {
          const dir = insideWorkingDir(cwd, 'cwd');
          const started = Date.now();
          execFile(command, args, { cwd: dir, env: { ...process.env, ...env }, shell, signal: ctx.signal, maxBuffer: 16 * MAX_OUTPUT, encoding: 'utf8' }, (err, stdout, stderr) => {
            const exitCode = err ? (typeof err.code === 'number' ? err.code : null) : 0;
            const out = { command, args, exitCode, stdout: tail(stdout), stderr: tail(stderr), durationMs: Date.now() - started };
            if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
              reject(new NonRetryableError(`command "${command}" not found; check it is installed and on PATH`));
            } else if (err && exitCode === null) {
              reject(new Error(`"${command}" stopped: ${err.message}`));
            } else if (exitCode !== 0 && !allowFailure) {
              reject(Object.assign(new Error(`"${[command, ...args].join(' ')}" exited with code ${exitCode}: ${tail(stderr || stdout).slice(-500)}`), { output: out }));
            } else resolve(out);
          });
        }),
    }),
  },
});
