// The seed's WorkflowManager example. In your project: import { ... } from 'codomyrmex'.
import { getWorkflowManager, WorkflowStep } from '../src/index.js';

// Get workflow manager
const wfManager = getWorkflowManager();

// Create workflow steps
const steps = [
  new WorkflowStep({
    name: 'analyze_code',
    module: 'static_analysis',
    action: 'analyze_code_quality',
    parameters: { path: '.' },
  }),
  new WorkflowStep({
    name: 'generate_insights',
    module: 'ai_code_editing',
    action: 'generate_code_insights',
    parameters: { analysis_data: '{{analyze_code.output}}' },
    dependencies: ['analyze_code'],
  }),
];

// Create workflow
await wfManager.createWorkflow('ai_analysis', steps);

// Execute workflow
const result = await wfManager.executeWorkflow('ai_analysis');
console.log(`Workflow completed: ${result.success}`);
if (!result.success) process.exitCode = 1;
