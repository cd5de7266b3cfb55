// Monitoring: performance metrics.
import { getOrchestrationEngine } from '../src/index.js';

const engine = getOrchestrationEngine();

// Get comprehensive metrics
const metrics = await engine.getMetrics();
console.log(`Active sessions: ${metrics.sessions.total}`);
console.log(`Total workflows: ${JSON.stringify(metrics.workflows)}`);
console.log(`Resource utilization: ${JSON.stringify(metrics.resources)}`);
