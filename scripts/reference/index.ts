/**
 * The generated references under docs/reference/: each page's path and text. `npm run docs:ref` writes them
 * (write.ts); test/docs/reference.test.ts fails when a committed page differs from what this generates.
 */
import { cliReference } from './cli.js';
import { configReference } from './config.js';
import { mcpReference } from './mcp.js';
import { metricsReference } from './metrics.js';
import { natsReference } from './nats.js';

export interface ReferencePage {
  /** Relative to the package root. */
  file: string;
  text: string;
}

/** Every reference page, generated now. */
export async function references(): Promise<ReferencePage[]> {
  return [
    { file: 'docs/reference/cli.md', text: cliReference() },
    { file: 'docs/reference/nats.md', text: natsReference() },
    { file: 'docs/reference/mcp.md', text: mcpReference() },
    { file: 'docs/reference/config.md', text: configReference() },
    { file: 'docs/reference/metrics.md', text: await metricsReference() },
  ];
}
