// Quick start 2: project creation.
import { getProjectManager } from '../src/index.js';

// Get project manager
const projectManager = getProjectManager();

// Create project
const project =
  (await projectManager.listProjects()).find((p) => p.name === 'my_project') ??
  (await projectManager.createProject({ name: 'my_project', templateName: 'web_application' }));

console.log(`Created project: ${project.name}`);
