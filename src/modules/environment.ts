import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { arch, availableParallelism, freemem, platform, release, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';
import { z } from 'zod';
import { NonRetryableError } from '../errors.js';
import { defineAction, defineModule } from './contract.js';

async function onPath(command: string): Promise<string | null> {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const full = join(dir, command);
    try {
      await access(full, constants.X_OK);
      return full;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** Facts about the machine, and a check that required commands are installed. */
export default defineModule({
  name: 'environment_setup',
  description: 'Checks the runtime environment',
  actions: {
    check_environment: defineAction({
      description:
        'Reports Node, OS, CPUs and memory, and which of `commands` are on PATH; fails (no retry) when one of `require` is missing or Node is older than `minNode`.',
      output:
        '{ node, platform, arch, release, cpus, memory: { totalMb, freeMb }, commands: { [name]: path | null }, ok }',
      params: z
        .object({
          commands: z.array(z.string().regex(/^[\w.+-]+$/)).default(['git', 'node', 'npm']),
          require: z.array(z.string().regex(/^[\w.+-]+$/)).default([]),
          minNode: z.number().int().min(0).default(20),
        })
        .strict(),
      run: async ({ commands, require, minNode }) => {
        const found: Record<string, string | null> = {};
        for (const c of new Set([...commands, ...require])) found[c] = await onPath(c);
        const nodeMajor = Number(process.versions.node.split('.')[0]);
        const missing = require.filter((c) => !found[c]);
        if (missing.length)
          throw new NonRetryableError(
            `required command(s) not on PATH: ${missing.join(', ')}; install them or drop them from "require"`,
          );
        if (nodeMajor < minNode)
          throw new NonRetryableError(`Node ${process.versions.node} is older than the required ${minNode}`);
        return {
          node: process.versions.node,
          platform: platform(),
          arch: arch(),
          release: release(),
          cpus: availableParallelism(),
          memory: { totalMb: Math.round(totalmem() / 2 ** 20), freeMb: Math.round(freemem() / 2 ** 20) },
          commands: found,
          ok: true,
        };
      },
    }),
  },
});
