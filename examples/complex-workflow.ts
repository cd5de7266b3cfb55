// Advanced: complex workflow definitions with parallel execution.
import { getOrchestrationEngine } from '../src/index.js';

const engine = getOrchestrationEngine();

// Define complex workflow with parallel execution
const workflowDefinition = {
  steps: [
    { name: 'setup', module: 'environment_setup', action: 'check_environment' },
    { name: 'analyze', module: 'static_analysis', action: 'analyze_code_quality' },
    { name: 'visualize', module: 'data_visualization', action: 'create_chart' },
  ],
  dependencies: {
    analyze: ['setup'],
    visualize: ['analyze'],
  },
  parallel_groups: [
    ['analyze', 'visualize'], // These can run in parallel
  ],
};

const result = await engine.executeComplexWorkflow(workflowDefinition);
console.log(
  `Complex workflow: ${result.status}; ${Object.values(result.steps)
    .map((s) => `${s.step} ${s.status}`)
    .join(', ')}`,
);
if (!result.success) process.exitCode = 1;
