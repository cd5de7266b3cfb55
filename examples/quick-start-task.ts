// Quick start 3: task orchestration.
import { getTaskOrchestrator, Task } from '../src/index.js';

// Get task orchestrator
const taskOrchestrator = getTaskOrchestrator();

// Create and execute task
const task = new Task({
  name: 'analyze_code',
  module: 'static_analysis',
  action: 'analyze_code_quality',
  parameters: { path: '.' },
});

const result = await taskOrchestrator.executeTask(task);
console.log(`Task completed: ${result.success}`);
if (!result.success) process.exitCode = 1;
