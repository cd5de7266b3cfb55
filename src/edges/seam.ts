/**
 * The seam between the edges and an engine: what the CLI's commands and the MCP tools use of one. An embedded
 * `OrchestrationEngine` and a `RemoteEngine` (a daemon over NATS) both satisfy it, so an edge written against it
 * works either way; what only an embedded engine can do (a registry of its own, definition files on this disk) is
 * asked of the engine by name, not through this interface.
 */
import type { ProjectManagerClient } from '../actors/projects/client.js';
import type { ResourceManagerClient } from '../actors/resources/client.js';
import type { TaskOrchestratorClient } from '../actors/tasks/client.js';
import type { WorkflowManagerClient } from '../actors/workflows/client.js';
import type { EngineHealth } from '../bus/protocol.js';
import type { ArtifactChunk, ArtifactWrite, ArtifactWritten } from '../model/artifacts.js';
import type { EventMap, EventName } from '../model/events.js';
import type { Session } from '../model/session.js';
import type { TaskExplanation } from '../model/taskView.js';
import type { WorkflowResult } from '../model/workflow.js';
import type { RunRequest } from '../model/run.js';
import type { ActionDescription } from '../modules/registry.js';

/** The narrowest engine both an embedded engine and a daemon's client are: every call goes over a bus. */
export interface EdgeEngine {
  readonly workflows: WorkflowManagerClient;
  readonly tasks: TaskOrchestratorClient;
  readonly projects: ProjectManagerClient;
  readonly resources: ResourceManagerClient;
  getTaskOrchestrator(): TaskOrchestratorClient;
  explainTask(taskId: string): Promise<TaskExplanation>;
  listSessions(status?: 'active' | 'closed'): Promise<Session[]>;
  listModules(moduleName?: string): Promise<ActionDescription[]>;
  readArtifact(runId: string, step: string, name: string, offset?: number, length?: number): Promise<ArtifactChunk>;
  writeArtifact(chunk: ArtifactWrite): Promise<ArtifactWritten>;
  registerEventHandler<K extends EventName>(name: K, handler: (event: K, data: EventMap[K]) => void): () => void;
  getSystemStatus(): Promise<object>;
  healthCheck(): Promise<EngineHealth>;
  executeComplexWorkflow(definition: Record<string, unknown>, options?: RunRequest): Promise<WorkflowResult>;
  executeProjectWorkflow(
    project: string,
    workflow: string,
    options?: Omit<RunRequest, 'workingDir' | 'project' | 'version'>,
  ): Promise<WorkflowResult>;
}
