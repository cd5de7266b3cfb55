/** `npm run examples`: every example of the seed README runs as written, each in its own process, and ends by itself. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { packagePath } from '../src/config/options.js';

const run = promisify(execFile);

describe('examples/', () => {
  it('runs every seed example against an embedded engine in a temp folder', async () => {
    const { stdout } = await run(process.execPath, [packagePath('dist', 'examples', 'run-all.js')], {
      timeout: 600_000,
    });
    expect(stdout).not.toMatch(/^FAIL/m);
    expect(stdout).toMatch(/^all 18 example runs passed$/m);
    // The seed's calls as written: the shipped workflow under its seed name, the positional session id, MCP tools.
    expect(stdout).toMatch(/ok {3}quick-start-workflow[^\n]*\n\s+Workflow completed: true/);
    expect(stdout).toMatch(/ok {3}orchestration-engine[^\n]*\n\s+Workflow completed: true/);
    expect(stdout).toMatch(/Workflow ai_analysis completed: true/);
    expect(stdout).toMatch(/Complex workflow: succeeded/);
    expect(stdout.match(/Resource gpu_1: 1 units/g)).toHaveLength(2);
  }, 600_000);
});
