/**
 * codomyrmex: an actor-based orchestration runtime. The seed's API (see SEED_API.md) plus the parts to extend it.
 */
export { OrchestrationEngine, createOrchestrationEngine, getOrchestrationEngine, getTaskOrchestrator, getWorkflowManager, getResourceManager } from './actors/engine.js';
export type { EventHandler, ShutdownOptions } from './actors/engine.js';
export { TaskOrchestratorClient } from './actors/taskOrchestrator.js';
export { WorkflowManagerClient } from './actors/workflowManager.js';
export { ResourceManagerClient } from './actors/resourceManager.js';
export { Resource, ResourceType, ResourceLedger, KNOWN_UNITS } from './actors/resources/ledger.js';
export type { ResourceInput, ResourceLimits, Allocation, ResourceUsage, Requirements, AllocateOptions } from './actors/resources/ledger.js';
export type { Session, SessionOptions } from './model/session.js';
export type { CreateWorkflowOptions } from './actors/workflowManager.js';
export { step } from './model/workflow.js';
export type { WorkflowStep, WorkflowDefinition, StoredWorkflow, WorkflowResult, WorkflowRun, StepResult } from './model/workflow.js';
export { validateWorkflow } from './workflows/validate.js';
export type { WorkflowValidation } from './workflows/validate.js';
export { parseDefinitionText, readDefinitionFile } from './workflows/loader.js';
export { topologicalLevels, topologicalOrder, transitiveDependencies, transitiveDependents, criticalPath, toMermaid, findCycle } from './dag/graph.js';
export type { Dag } from './dag/graph.js';
export { workflowRunMachine } from './machines/workflowRun.js';
export { Task, TaskPriority, DEFAULT_RETRY, backoffDelayMs, isTerminal } from './model/task.js';
export type { TaskInput, TaskResult, TaskSpec, TaskStatus, RetryPolicy } from './model/task.js';
export type { EngineOptions, CompiledOptions, Durability, StoreKind, MetricsOptions, HttpOptions, HealthOptions } from './config/options.js';
export { EngineMetrics } from './metrics/engineMetrics.js';
export type { ResourceSource } from './metrics/engineMetrics.js';
export type { ResourceUsage as MetricResourceUsage } from './metrics/families.js';
export { resourceUsageFromLedger } from './metrics/resources.js';
export type { PerformanceStats } from './metrics/perf.js';
export type { ComponentView, SystemStatus, EngineMetricsView, PerformanceSummary, PerformanceFilter, PoolStatus } from './actors/engineViews.js';
export type { HealthReport, ComponentHealth, HealthStatus, HealthCheck } from './actors/health.js';
export { assessQueue } from './actors/health.js';
export type { HttpAddress, Readiness, Liveness } from './edges/http/server.js';
export { compileOptions } from './config/options.js';
export type { MessageBus, Unsubscribe, BusStats } from './bus/bus.js';
export { InMemoryBus } from './bus/memory.js';
export type { BusEvent, EventMap, EventName, CommandMap, CommandType, TaskView, StartExecutionReply, SchedulerStats, WorkflowSummary, WorkflowPerformance, WorkflowRunStatus, RunRequest, SessionMode, TaskExplanation } from './bus/protocol.js';
export { defineModule, defineAction } from './modules/contract.js';
export type { ActionModule, ActionDefinition, ActionContext } from './modules/contract.js';
export { ModuleRegistry } from './modules/registry.js';
export type { ActionDescription } from './modules/registry.js';
export { taskMachine } from './machines/task.js';
export { runtimeMachine } from './machines/runtime.js';
export type { Store, StoredTask, StoredRecord, RecordKind, RecordWrite, RecordQuery, JournalEntry, EventQuery, WriteBatch } from './store/store.js';
export { RECORD_KINDS, OPEN_TASK_STATUSES } from './store/store.js';
export { MemoryStore } from './store/memory.js';
export { SqliteStore } from './store/sqlite.js';
export type { SqliteStoreOptions } from './store/sqlite.js';
export { SCHEMA_VERSION } from './store/migrations.js';
export { GroupCommitter } from './store/commits.js';
export type { CommitSource, CommitStats, GroupCommitterOptions } from './store/commits.js';
export {
  CodomyrmexError,
  ValidationError,
  NotFoundError,
  CycleError,
  ResourceUnavailableError,
  TaskTimeoutError,
  NonRetryableError,
  CancelledError,
  WorkerCrashedError,
  ShuttingDownError,
  StoreError,
  ErrorCode,
} from './errors.js';
export type { SerializedError } from './errors.js';
