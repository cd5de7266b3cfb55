// AI integration: the MCP tools in-process (the seed's get_mcp_tools()).
import { getMcpTools } from '../src/index.js';

// Get MCP tools
const tools = getMcpTools();

// Execute workflow via AI
const run = await tools.executeTool('execute_workflow', { workflow_name: 'ai_analysis', parameters: { path: '.' } });
console.log(`execute_workflow: ${run.success}`);

// Create project via AI (a second run finds it there and says so)
const project = await tools.executeTool('create_project', {
  name: 'ai_project',
  template: 'ai_analysis',
  description: 'AI-powered analysis project',
});
console.log(`create_project: ${project.success ? 'created' : project.error.message}`);
if (!run.success) process.exitCode = 1;
