// Workflow configuration: a timeout and retries per step.
import { getWorkflowManager, WorkflowStep } from '../src/index.js';

const wfManager = getWorkflowManager();

// Create workflow with custom configuration
const steps = [
  new WorkflowStep({
    name: 'analyze',
    module: 'static_analysis',
    action: 'analyze_code_quality',
    parameters: { path: '.' },
    timeout: 300, // 5 minutes timeout
    maxRetries: 3,
  }),
];

const wf = await wfManager.createWorkflow('custom_workflow', steps);
console.log(`Created ${wf.name} v${wf.version}: ${wf.steps.length} step(s)`);
