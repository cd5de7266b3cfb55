import { expect } from 'vitest';

/**
 * What an MCP client over a pipe can be sure to see of a run's progress. The server sends 0..total before the
 * result (test/edges/mcpTools.test.ts checks every value in-process), but the SDK's client runs notification
 * handlers a microtask after parsing and its response handler at once, which removes the call's progress callback:
 * notifications read together with the response are dropped. What arrives is the run's start (sent long before the
 * result), then steps in order, never past `total`.
 */
export function expectProgressSeen(
  progress: readonly { progress: number; total?: number | undefined }[],
  total: number,
): void {
  const values = progress.map((p) => p.progress);
  expect(values[0]).toBe(0);
  expect(values).toEqual([...new Set(values)].sort((a, b) => a - b));
  expect(Math.max(...values)).toBeLessThanOrEqual(total);
  for (const p of progress) if (p.total !== undefined) expect(p.total).toBe(total);
}
