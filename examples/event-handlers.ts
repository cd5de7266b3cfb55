// Advanced: custom event handlers.
import { getOrchestrationEngine } from '../src/index.js';

// Get orchestration engine
const engine = getOrchestrationEngine();

// Register event handler
function onWorkflowCompleted(_event: string, data: { workflowName: string; success: boolean }): void {
  console.log(`Workflow ${data.workflowName} completed: ${data.success}`);
}

engine.registerEventHandler('workflow_completed', onWorkflowCompleted);

// Something to hear about
await engine.executeWorkflow('ai_analysis');
