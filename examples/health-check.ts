// Monitoring: system health check.
import { getOrchestrationEngine } from '../src/index.js';

// Get orchestration engine
const engine = getOrchestrationEngine();

// Perform health check
const health = await engine.healthCheck();
console.log(`System health: ${health.overallStatus}`);

// Check component health
for (const [component, status] of Object.entries(health.components)) console.log(`${component}: ${status.status}`);
