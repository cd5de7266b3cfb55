// Quick start 1: basic workflow execution. On a fresh folder "ai_analysis" is the shipped ai-analysis workflow.
import { getOrchestrationEngine } from '../src/index.js';

// Get orchestration engine
const engine = getOrchestrationEngine();

// Execute a simple workflow
const result = await engine.executeWorkflow('ai_analysis');
console.log(`Workflow completed: ${result.success}`);
if (!result.success) process.exitCode = 1;
