import { describe, expect, it } from 'vitest';
import type { AttemptRequest } from '../../src/workers/runner.js';
import { attemptFields } from '../../src/workers/runner.js';

const base: AttemptRequest = {
  taskId: 't1',
  name: 'core.noop',
  module: 'core',
  action: 'noop',
  params: {},
  attempt: 1,
  channel: false,
  idempotencyKey: undefined,
  workingDir: undefined,
  upstream: undefined,
  traceparent: undefined,
};

describe('attemptFields', () => {
  it('writes the fields every worker message carries and leaves out the optional ones that are unset', () => {
    const req = attemptFields({ type: 'run' as const, seq: 7 }, base);
    expect(req).toEqual({ type: 'run', seq: 7, taskId: 't1', module: 'core', action: 'noop', params: {}, attempt: 1 });
    expect(Object.keys(req)).not.toContain('idempotencyKey');
    expect(Object.keys(req)).not.toContain('traceparent');
  });

  it('carries the optional fields that are set', () => {
    const item = attemptFields(
      { seq: 1 },
      {
        ...base,
        idempotencyKey: 'k',
        workingDir: '/w',
        upstream: { a: 1 },
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        artifactScope: 'run-1',
      },
    );
    expect(item).toMatchObject({
      idempotencyKey: 'k',
      workingDir: '/w',
      upstream: { a: 1 },
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      artifactScope: 'run-1',
    });
  });
});
