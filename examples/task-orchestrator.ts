// The seed's TaskOrchestrator example.
import { getTaskOrchestrator, Task, TaskPriority } from '../src/index.js';

// Get task orchestrator
const taskOrchestrator = getTaskOrchestrator();

// Create tasks
const task1 = new Task({
  name: 'setup',
  module: 'environment_setup',
  action: 'check_environment',
  priority: TaskPriority.HIGH,
});
const task2 = new Task({
  name: 'analyze',
  module: 'static_analysis',
  action: 'analyze_code_quality',
  dependencies: [task1.id],
  priority: TaskPriority.NORMAL,
});

// Add tasks and execute
await taskOrchestrator.addTask(task1);
await taskOrchestrator.addTask(task2);
const { results } = await taskOrchestrator.startExecution();
for (const r of results) console.log(`${r.name}: ${r.status}`);
if (!results.every((r) => r.success)) process.exitCode = 1;
