// The seed's ProjectManager example.
import { getProjectManager } from '../src/index.js';

// Get project manager
const projectManager = getProjectManager();

// Create project from template (a second run of this script finds it already there)
const existing = (await projectManager.listProjects()).find((p) => p.name === 'my_ai_project');
const project =
  existing ??
  (await projectManager.createProject({
    name: 'my_ai_project',
    templateName: 'ai_analysis',
    description: 'AI-powered code analysis project',
  }));
console.log(`Project: ${project.name}`);

// Get project status
const status = await projectManager.getProjectStatus('my_ai_project');
console.log(
  `Status: ${status.status}, files ${status.files.present}/${status.files.expected}, milestones ${status.milestones.completed}/${status.milestones.total}`,
);
