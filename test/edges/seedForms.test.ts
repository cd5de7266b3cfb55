/** The seed's calls as written: folded workflow names, the positional session id, `new WorkflowStep`, `ResourceLimits`, re-adding a resource. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/config/options.js';
import type { OrchestrationEngine } from '../../src/index.js';
import { Resource, ResourceLimits, ResourceType, WorkflowStep } from '../../src/index.js';
import { testEngine } from '../helpers.js';

describe('the seed’s forms', () => {
  let engine: OrchestrationEngine;
  beforeAll(async () => {
    engine = testEngine({ workflowDirs: [packagePath('config', 'workflows')] });
    await engine.ready();
  });
  afterAll(() => engine.shutdown());

  it('finds ai-analysis as ai_analysis, while an exact name still wins', async () => {
    expect((await engine.workflows.getWorkflow('ai_analysis'))?.name).toBe('ai-analysis');
    expect((await engine.workflows.getWorkflow('build_and_test'))?.name).toBe('build-and-test');
    await engine.workflows.createWorkflow('build_and_test', [
      new WorkflowStep({ name: 'a', module: 'core', action: 'echo' }),
    ]);
    expect((await engine.workflows.getWorkflow('build_and_test'))?.steps).toHaveLength(1);
  });

  it('takes the session id positionally in engine.executeWorkflow(name, sessionId)', async () => {
    await engine.workflows.createWorkflow('one', [
      new WorkflowStep({ name: 'a', module: 'core', action: 'echo', parameters: { value: 1 } }),
    ]);
    const sessionId = await engine.createSession({ userId: 'u', mode: 'resource_aware', maxParallelTasks: 4 });
    const result = await engine.executeWorkflow('one', sessionId);
    expect(result.success).toBe(true);
    expect((await engine.workflows.getRun(result.runId))?.sessionId).toBe(sessionId);
  });

  it('re-adding an identical resource is a no-op; a different one is refused, saying what differs', async () => {
    const gpu = () =>
      new Resource({
        id: 'gpu_1',
        name: 'GPU Resource',
        type: ResourceType.GPU,
        capacity: { units: 1 },
        limits: new ResourceLimits({ maxConcurrentUsers: 1 }),
      });
    await engine.resources.addResource(gpu());
    await expect(engine.resources.addResource(gpu())).resolves.toMatchObject({ id: 'gpu_1', capacity: 1 });
    const bigger = new Resource({
      id: 'gpu_1',
      name: 'GPU Resource',
      type: ResourceType.GPU,
      capacity: { units: 2 },
      limits: { maxConcurrentUsers: 1 },
    });
    await expect(engine.resources.addResource(bigger)).rejects.toThrow(
      /"gpu_1" already exists with a different definition \(gpu, 1 units.*given gpu, 2 units/,
    );
  });
});
