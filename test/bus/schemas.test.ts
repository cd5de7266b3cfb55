import { describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../src/errors.js';
import type { CommandPayload, CommandType } from '../../src/bus/protocol.js';
import {
  COMMAND_TYPES,
  EVENT_NAMES,
  isEventName,
  parseCommandPayload,
  resolveCommandType,
} from '../../src/bus/schemas.js';

/** One well-formed request per command, typed: a command added to the protocol without a sample fails to compile. */
const samples: { [K in CommandType]: CommandPayload<K> } = {
  'task.add': {
    tasks: [
      { module: 'core', action: 'noop' },
      {
        id: 't2',
        module: 'core',
        action: 'echo',
        parameters: { value: 1 },
        dependencies: ['t1'],
        priority: 'high',
        timeout: 5,
        maxRetries: 1,
        retry: { initialDelay: 0.1 },
      },
    ],
  },
  'task.execute': { task: { module: 'core', action: 'echo' } },
  'task.start_execution': {},
  'task.cancel': { taskId: 't1', reason: 'no longer needed' },
  'task.get': { taskId: 't1' },
  'task.list': { status: ['running', 'ready'], limit: 10 },
  'task.wait': { taskId: 't1' },
  'task.submit': { task: { module: 'core', action: 'echo' } },
  'task.wait_for': { taskId: 't1', timeoutMs: 1000 },
  'task.stats': {},
  'task.set_concurrency': { maxConcurrency: 4 },
  'workflow.create': { definition: { name: 'etl', steps: [] }, replace: true, source: 'etl.yaml' },
  'workflow.validate': { definition: { name: 'etl', steps: [] } },
  'workflow.get': { name: 'etl', version: '2' },
  'workflow.list': {},
  'workflow.delete': { name: 'etl' },
  'workflow.execute': { name: 'etl', params: { day: 1 }, sessionId: 's1', version: '1' },
  'workflow.start': { name: 'etl' },
  'workflow.execute_complex': { definition: { steps: [], dependencies: {} }, params: {} },
  'workflow.start_complex': { definition: { steps: [], dependencies: {} } },
  'workflow.get_run': { runId: 'r1' },
  'workflow.list_runs': { workflowName: 'etl', status: 'failed', limit: 5 },
  'workflow.wait_run': { runId: 'r1' },
  'workflow.wait_for': { runId: 'r1', timeoutMs: 0 },
  'workflow.cancel_run': { runId: 'r1' },
  'workflow.signal': { runId: 'r1', signal: 'approval', payload: { ok: true } },
  'workflow.retry': { runId: 'r1', fromStep: 'load' },
  'workflow.explain_step': { taskId: 'r1.wait' },
  'workflow.performance': { name: 'etl' },
  'workflow.configure_session': { sessionId: 's1', maxParallelWorkflows: 2 },
  'workflow.close_session': { sessionId: 's1', reason: 'done' },
  'task.open_lane': { sessionId: 's1', mode: 'priority', maxParallelTasks: 3 },
  'task.close_lane': { sessionId: 's1', reason: 'done' },
  'task.explain': { taskId: 't1' },
  'task.flow_status': { top: 5 },
  'ratelimit.create': { name: 'github-api', limit: 30, per: '1m' },
  'ratelimit.list': {},
  'ratelimit.delete': { name: 'github-api' },
  'resource.add': { resource: { id: 'gpu0', type: 'gpu', capacity: { units: 1 }, limits: { maxConcurrentUsers: 1 } } },
  'resource.remove': { id: 'gpu0' },
  'resource.list': {},
  'resource.allocate': { holderId: 'user123', requirements: { cpu: { cores: 2 } }, ttlSeconds: 60, waitSeconds: 0 },
  'resource.deallocate': { holderId: 'user123' },
  'resource.allocations': {},
  'session.create': { userId: 'u1', mode: 'resource_aware', maxParallelTasks: 4 },
  'session.get': { sessionId: 's1' },
  'session.list': { status: 'active' },
  'session.close': { sessionId: 's1' },
  'project.templates': {},
  'project.template': { name: 'ai_analysis' },
  'project.create': { name: 'my_ai_project', templateName: 'ai_analysis', description: 'demo', tags: ['x'] },
  'project.get': { name: 'p' },
  'project.list': { status: 'active', tag: 'x' },
  'project.status': { name: 'p' },
  'project.update': { name: 'p', changes: { description: 'd' } },
  'project.archive': { name: 'p', tarball: true },
  'project.delete': { name: 'p', removeFiles: false },
  'project.add_milestone': { name: 'p', milestone: { name: 'm1', dueDate: '2027-01-01', workflows: ['ai-analysis'] } },
  'project.update_milestone': { name: 'p', milestone: 'm1', changes: { description: 'later' } },
  'project.complete_milestone': { name: 'p', milestone: 'm1' },
  'project.get_config': { name: 'p', key: 'analysis.max_file_size' },
  'project.set_config': { name: 'p', key: 'analysis.max_file_size', value: 5 },
  'project.run_workflow': { name: 'p', workflow: 'ai-analysis', params: {} },
  'project.start_workflow': { name: 'p', workflow: 'ai-analysis' },
  'project.stats': {},
  'engine.status': {},
  'engine.health': {},
  'engine.modules': { module: 'core' },
  'engine.read_artifact': { runId: 'r1', step: 'chart', name: 'svg', offset: 0, length: 1024 },
  'engine.write_artifact': {
    runId: 'r1',
    name: 'path/a.txt',
    file: 'a.txt',
    size: 3,
    digest: 'a'.repeat(64),
    offset: 0,
    data: 'YWJj',
  },
  'schedule.create': {
    name: 'nightly',
    workflow: 'etl',
    cron: '0 2 * * *',
    timezone: 'Europe/Paris',
    overlap: 'buffer_one',
    catchupWindowSeconds: 300,
    jitterSeconds: 5,
    startAt: '2026-01-01T00:00:00Z',
    endAt: 1893456000000,
    parameters: { day: 1 },
  },
  'schedule.list': {},
  'schedule.get': { name: 'nightly' },
  'schedule.pause': { name: 'nightly' },
  'schedule.resume': { name: 'nightly' },
  'schedule.delete': { name: 'nightly' },
  'schedule.trigger': { name: 'nightly' },
  'schedule.backfill': { name: 'nightly', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', overlap: 'allow' },
  'trigger.create': {
    name: 'orders',
    workflow: 'etl',
    source: { nats: 'orders.>', stream: 'ORDERS' },
    parameters: { order: '{{event.data}}' },
  },
  'trigger.list': {},
  'trigger.delete': { name: 'orders' },
  'trigger.pause': { name: 'orders' },
  'trigger.resume': { name: 'orders' },
  'trigger.http': { path: '/hooks/deploy', body: '{}', signature: 'sha256=00' },
};

describe('command request schemas', () => {
  it('have a schema for every command, and each accepts its well-formed request unchanged', () => {
    expect([...COMMAND_TYPES].sort()).toEqual(Object.keys(samples).sort());
    for (const type of COMMAND_TYPES) {
      const r = parseCommandPayload(type, structuredClone(samples[type]));
      expect(r.ok ? r.payload : r.error.issues, type).toEqual(samples[type]);
    }
  });

  it("rename the seed's snake_case names at the levels callers write them, never inside parameters", () => {
    const cases: [CommandType, unknown, unknown][] = [
      [
        'workflow.execute',
        { workflow_name: 'ai_analysis', parameters: { code_path: '.' }, session_id: 's1' },
        { name: 'ai_analysis', params: { code_path: '.' }, sessionId: 's1' },
      ],
      ['workflow.list_runs', { workflow_name: 'etl' }, { workflowName: 'etl' }],
      [
        'workflow.execute_complex',
        { workflow_definition: { parallel_groups: [['a']] } },
        { definition: { parallel_groups: [['a']] } },
      ],
      [
        'task.execute',
        {
          task: {
            module: 'core',
            action: 'echo',
            max_retries: 2,
            idempotency_key: 'k',
            retry: { initial_delay: 1, max_delay: 2 },
          },
        },
        {
          task: {
            module: 'core',
            action: 'echo',
            maxRetries: 2,
            idempotencyKey: 'k',
            retry: { initialDelay: 1, maxDelay: 2 },
          },
        },
      ],
      ['task.set_concurrency', { max_concurrency: 3 }, { maxConcurrency: 3 }],
      [
        'resource.allocate',
        { user_id: 'user123', requirements: { cpu: { cores: 2 } }, ttl_seconds: 5 },
        { holderId: 'user123', requirements: { cpu: { cores: 2 } }, ttlSeconds: 5 },
      ],
      [
        'resource.add',
        { resource: { id: 'g', type: 'gpu', capacity: { units: 1 }, limits: { max_concurrent_users: 1 } } },
        { resource: { id: 'g', type: 'gpu', capacity: { units: 1 }, limits: { maxConcurrentUsers: 1 } } },
      ],
      [
        'session.create',
        { user_id: 'u', max_parallel_tasks: 2, max_parallel_workflows: 1, timeout_seconds: 30 },
        { userId: 'u', maxParallelTasks: 2, maxParallelWorkflows: 1, timeoutSeconds: 30 },
      ],
      ['workflow.get_run', { run_id: 'r1' }, { runId: 'r1' }],
    ];
    for (const [type, raw, want] of cases) {
      const r = parseCommandPayload(type, raw);
      expect(r.ok ? r.payload : r.error.issues, type).toEqual(want);
    }
  });

  it('refuse bad requests with a ValidationError naming every bad field', () => {
    const r = parseCommandPayload('task.add', {
      tasks: [{ module: 'core' }, { module: '9bad', action: 'noop', priority: 'urgent' }],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(ValidationError);
    expect(r.error.issues).toEqual([
      expect.stringMatching(/^payload\.tasks\[0\]\.action: /),
      'payload.tasks[1].module: must be a module name like "core"',
      expect.stringMatching(/^payload\.tasks\[1\]\.priority: /),
    ]);
    const missing = parseCommandPayload('workflow.execute', {});
    expect(!missing.ok && missing.error.issues).toEqual(['payload.name: required: the workflow']);
    const notObject = parseCommandPayload('task.get', 'x');
    expect(!notObject.ok && notObject.error.issues).toEqual([
      expect.stringMatching(/^payload: Expected object, received string/),
    ]);
    const twice = parseCommandPayload('session.get', { sessionId: 'a', session_id: 'b' });
    expect(!twice.ok && twice.error.issues).toEqual([
      'payload.sessionId: given twice, as "sessionId" and as "session_id"; keep one',
    ]);
    const concurrency = parseCommandPayload('task.set_concurrency', { maxConcurrency: 2.5 });
    expect(!concurrency.ok && concurrency.error.issues).toEqual(['payload.maxConcurrency: must be a whole number']);
  });

  it('treat an empty body as an empty request only for commands that take none', () => {
    expect(parseCommandPayload('task.stats', undefined)).toEqual({ ok: true, payload: {} });
    expect(parseCommandPayload('task.get', undefined).ok).toBe(false);
  });

  it('resolve command types from outside, suggesting the nearest', () => {
    expect(resolveCommandType('task.get')).toBe('task.get');
    const err = resolveCommandType('workflow.exec');
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toMatch(
      /^unknown command "workflow.exec" \(did you mean "workflow.(get|execute)"\?\); known: task.add, /,
    );
  });

  it('list every event name', () => {
    expect(EVENT_NAMES).toContain('workflow_completed');
    expect(isEventName('task_started')).toBe(true);
    expect(isEventName('task_exploded')).toBe(false);
  });
});
