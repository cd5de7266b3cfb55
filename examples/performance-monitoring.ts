// Performance monitoring.
import { getWorkflowManager } from '../src/index.js';

// Get workflow manager with performance monitoring
const wfManager = getWorkflowManager();

// Execute workflow (automatically monitored)
const result = await wfManager.executeWorkflow('ai_analysis');

// Get performance summary
const perfSummary = await wfManager.getPerformanceSummary();
console.log(`Performance metrics: ${JSON.stringify(perfSummary)}`);
if (!result.success) process.exitCode = 1;
