// The seed's OrchestrationEngine example.
import { getOrchestrationEngine } from '../src/index.js';

// Get orchestration engine
const engine = getOrchestrationEngine();

// Create session
const sessionId = await engine.createSession({ userId: 'user123', mode: 'resource_aware', maxParallelTasks: 4 });

// Execute workflow (the seed's positional form: the session id)
const result = await engine.executeWorkflow('ai_analysis', sessionId);
console.log(`Workflow completed: ${result.success}`);

// Get system status
const status = await engine.getSystemStatus();
console.log(`Engine ${status.state}, up ${status.uptimeSeconds.toFixed(1)} s`);
if (!result.success) process.exitCode = 1;
