import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { packagePath } from '../../src/config/options.js';

const run = promisify(execFile);

/** The built CLI's entry. */
export const CLI = packagePath('dist', 'src', 'edges', 'cli', 'main.js');

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI in `cwd` with `args` (and `env` over the process's); resolves with its exit code and output, never rejects. */
export async function runCli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as Ran;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
