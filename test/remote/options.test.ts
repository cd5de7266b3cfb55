/** The daemon's and the worker's remote-worker flags, checked before anything starts. */
import { describe, expect, it } from 'vitest';
import { compileDaemonOptions } from '../../src/edges/daemon/options.js';
import { parseTags } from '../../src/edges/cli/worker.js';

const env = { CODOMYRMEX_CONFIG: '' } as NodeJS.ProcessEnv;

describe('remote-worker options', () => {
  it('--no-local-workers implies remote workers and needs NATS', () => {
    expect(() => compileDaemonOptions({ localWorkers: false }, {}, env, '/')).toThrow(
      '--no-local-workers: remote workers are reached over NATS: give --nats URL',
    );
    expect(() => compileDaemonOptions({ remoteWorkers: true }, {}, env, '/')).toThrow(
      '--remote-workers: remote workers are reached over NATS',
    );
    expect(compileDaemonOptions({ localWorkers: false, nats: 'nats://127.0.0.1:4222' }, {}, env, '/').workers).toEqual({
      local: false,
      remote: true,
      lostAfterMs: 5000,
    });
    expect(compileDaemonOptions({}, {}, env, '/').workers).toEqual({ local: true, remote: false, lostAfterMs: 5000 });
  });

  it('--worker-lost-after is a duration of at least 100 ms', () => {
    expect(
      compileDaemonOptions({ remoteWorkers: true, nats: 'nats://x:1', workerLostAfter: '2s' }, {}, env, '/').workers
        .lostAfterMs,
    ).toBe(2000);
    expect(() =>
      compileDaemonOptions({ remoteWorkers: true, nats: 'nats://x:1', workerLostAfter: '10ms' }, {}, env, '/'),
    ).toThrow('--worker-lost-after: must be at least 100ms');
    expect(() =>
      compileDaemonOptions({ remoteWorkers: true, nats: 'nats://x:1', workerLostAfter: 'soon' }, {}, env, '/'),
    ).toThrow('--worker-lost-after: must be a duration');
  });

  it('--tags are checked, deduplicated and sorted', () => {
    expect(parseTags('gpu, big-mem,gpu')).toEqual(['big-mem', 'gpu']);
    expect(parseTags(undefined)).toEqual([]);
    expect(() => parseTags('gpu,two words')).toThrow('--tags: "two words" is not a tag');
  });
});
