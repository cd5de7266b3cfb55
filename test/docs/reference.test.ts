/** The committed references under docs/reference/ are what the code generates today (`npm run docs:ref`). */
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import type { ReferencePage } from '../../scripts/reference/index.js';
import { references } from '../../scripts/reference/index.js';
import { COMMAND_TYPES } from '../../src/bus/schemas.js';
import { TOOL_NAMES } from '../../src/edges/mcp/tools.js';

describe('generated references', () => {
  let generated: ReferencePage[] = [];
  beforeAll(async () => {
    generated = await references();
  }, 60_000);

  it('are up to date (else: npm run docs:ref, and commit docs/reference/)', () => {
    const stale: string[] = [];
    for (const { file, text } of generated) {
      const committed = existsSync(packagePath(file)) ? readFileSync(packagePath(file), 'utf8') : null;
      if (committed !== text)
        stale.push(
          `${file} is ${committed === null ? 'missing' : 'out of date'}: run \`npm run docs:ref\` and commit it`,
        );
    }
    expect(stale).toEqual([]);
  });

  it('cover every command, tool, CLI command and metric family', () => {
    const pages = Object.fromEntries(generated.map((p) => [p.file.replace(/^docs\/reference\//, ''), p.text]));
    for (const type of COMMAND_TYPES) expect(pages['nats.md']).toContain(`\`codomyrmex.cmd.${type}\``);
    for (const tool of TOOL_NAMES) expect(pages['mcp.md']).toContain(`## ${tool}\n`);
    expect(pages['cli.md']).toContain('#### codomyrmex workflow run\n');
    expect(pages['nats.md']).toContain('`POST /api/v1/cmd/workflow/start`');
    expect(pages['config.md']).toContain('| `durability` |');
    expect(pages['config.md']).toContain('| `daemon.nats.url` |');
    expect(pages['metrics.md']).toContain('| `codomyrmex_task_queue_wait_seconds` | histogram | priority |');
    expect(pages['metrics.md']).toContain('| `codomyrmex_workers` | gauge | state |');
  });
});
