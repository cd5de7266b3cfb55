/**
 * codomyrmex: an actor-based orchestration runtime. The engine and its facades (the seed's API), workflows, tasks,
 * schedules, the bus, the stores and the errors, plus the parts to extend it (action modules).
 * Start with {@link getOrchestrationEngine} (or {@link createOrchestrationEngine} for your own options).
 *
 * @module codomyrmex
 */
export { OrchestrationEngine } from './actors/engine/engine.js';
export type { AttachedEdge, EngineComposition, ShutdownOptions } from './actors/engine/engine.js';
export type { EventHandler } from './actors/engine/eventHandlers.js';
export {
  composeEngine,
  createOrchestrationEngine,
  getOrchestrationEngine,
  getTaskOrchestrator,
  getWorkflowManager,
  getResourceManager,
  getProjectManager,
} from './edges/library.js';
export { startEdges } from './edges/start.js';
export { getMcpTools, McpTools, TOOL_NAMES } from './edges/mcp/tools.js';
export type { ToolResult, ToolInfo } from './edges/mcp/tools.js';
export type { ProgressReporter } from './edges/mcp/progress.js';
export { planWorkflow } from './edges/mcp/plan.js';
export type { WorkflowPlan, PlanStep } from './edges/mcp/plan.js';
export type { EdgeOptions } from './edges/start.js';
export { TaskOrchestratorClient } from './actors/tasks/client.js';
export { WorkflowManagerClient } from './actors/workflows/client.js';
export { ScheduleClient } from './actors/schedules/client.js';
export { OVERLAP_POLICIES } from './model/schedule.js';
export type {
  ScheduleInput,
  ScheduleSpec,
  ScheduleView,
  SlotRecord,
  SlotOutcome,
  OverlapPolicy,
  BackfillInput,
  BackfillReply,
  TriggerInput,
  TriggerSource,
  TriggerView,
  TimeInput,
} from './model/schedule.js';
export { nextSlot, nextSlots, dueSlots, jitterMs, slotRunId, parseEvery } from './actors/schedules/slots.js';
export { signBody } from './actors/triggers/manager.js';
export type {
  TriggerTransport,
  TriggerMessage,
  TriggerHandler,
  TriggerListening,
} from './actors/triggers/transport.js';
export { ResourceManagerClient } from './actors/resources/client.js';
export { ResourceLedger } from './actors/resources/ledger.js';
export { Resource, ResourceType, ResourceLimits, KNOWN_UNITS } from './model/resource.js';
export type { ResourceInput, Allocation, ResourceUsage, Requirements, AllocateOptions } from './model/resource.js';
export { ProjectManagerClient } from './actors/projects/client.js';
export type {
  Project,
  ProjectStatus,
  ProjectStatusReport,
  ProjectCounts,
  CreateProjectOptions,
  ProjectChanges,
  Milestone,
  MilestoneInput,
  MilestoneChanges,
  MilestoneProgress,
  ProjectWorkflowRuns,
} from './model/project.js';
export type { ProjectTemplate, TemplateSummary } from './projects/template.js';
export { insideWorkingDir, workingDir } from './modules/paths.js';
export type { Session, SessionOptions } from './model/session.js';
export type { CreateWorkflowOptions } from './actors/workflows/client.js';
export { step, WorkflowStep } from './model/workflow.js';
export type { WorkflowDefinition, StoredWorkflow, WorkflowResult, StepResult } from './model/workflow.js';
export type { WorkflowRun, RunContext, RunOrigin, RunProject } from './model/run.js';
export type {
  ArtifactChunk,
  ArtifactPiece,
  ArtifactRef,
  ArtifactWrite,
  ArtifactWritten,
  RunArtifact,
  RunInputs,
} from './model/artifacts.js';
export { validateWorkflow } from './workflows/validate.js';
export type { WorkflowValidation } from './workflows/validate.js';
export { parseDefinitionText, readDefinitionFile } from './workflows/loader.js';
export {
  topologicalLevels,
  topologicalOrder,
  transitiveDependencies,
  transitiveDependents,
  criticalPath,
  toMermaid,
  findCycle,
} from './dag/graph.js';
export type { Dag } from './dag/graph.js';
export { workflowRunMachine } from './machines/workflowRun.js';
export { Task, TaskPriority, DEFAULT_RETRY, backoffDelayMs, isTerminal } from './model/task.js';
export type { TaskInput, TaskResult, TaskSpec, TaskStatus, RetryPolicy } from './model/task.js';
export { LIMITS, RESERVED_NAMES } from './model/limits.js';
export { PAYLOAD_LIMITS } from './model/validate.js';
export type {
  EngineOptions,
  CompiledOptions,
  Durability,
  StoreKind,
  MetricsOptions,
  HttpOptions,
  HealthOptions,
} from './config/options.js';
export { EngineMetrics } from './metrics/engineMetrics.js';
export type { ResourceSource } from './metrics/engineMetrics.js';
export type { ResourceUsage as MetricResourceUsage } from './metrics/families.js';
export { resourceUsageFromLedger } from './metrics/resources.js';
export type { PerformanceStats } from './metrics/perf.js';
export type { ComponentView, SystemStatus, PoolStatus } from './actors/engine/views.js';
export type { EngineMetricsView, PerformanceSummary, PerformanceFilter } from './actors/engine/metricViews.js';
export type { HealthReport, ComponentHealth, HealthStatus, HealthCheck } from './actors/engine/health.js';
export { assessQueue } from './actors/engine/health.js';
export type { HttpAddress, Readiness, Liveness } from './actors/engine/views.js';
export { compileOptions } from './config/compile.js';
export type { MessageBus, Unsubscribe, BusStats } from './bus/bus.js';
export { InMemoryBus } from './bus/memory.js';
export type { CommandMap, CommandType } from './bus/protocol.js';
export type { BusEvent, EventMap, EventName } from './model/events.js';
export type {
  TaskView,
  StartExecutionReply,
  SchedulerStats,
  TaskExplanation,
  FlowStatus,
  KeyLevel,
  RateLimitView,
  BucketLevel,
} from './model/taskView.js';
export type { ConcurrencyRule, ConcurrencyInput, RateLimitUse } from './model/flow.js';
export type { WorkflowSummary, WorkflowPerformance, WorkflowRunStatus } from './model/workflow.js';
export type { RunRequest } from './model/run.js';
export type { SessionMode } from './model/session.js';
// The NATS bus itself loads the NATS client (~60 ms): it is the `codomyrmex/nats` entry; its types are here.
export type { NatsBus, NatsBusOptions, NatsConnectOptions, NatsBusStatus } from './bus/nats.js';
export type { BridgeOptions } from './bus/bridge.js';
export type { ReplyEnvelope } from './bus/wire.js';
export {
  requestSchemas,
  parseCommandPayload,
  resolveCommandType,
  isCommandType,
  isEventName,
  COMMAND_TYPES,
  EVENT_NAMES,
} from './bus/schemas.js';
export type { ParsedRequest } from './bus/schemas.js';
export { defineModule, defineAction } from './modules/contract.js';
export type { ActionModule, ActionDefinition, ActionContext, ActionArtifacts } from './modules/contract.js';
export { ModuleRegistry } from './modules/registry.js';
export type { ActionDescription } from './modules/registry.js';
export { taskMachine } from './machines/task.js';
export { runtimeMachine } from './machines/runtime.js';
export type {
  Store,
  StoredTask,
  StoredRecord,
  RecordKind,
  RecordWrite,
  RecordQuery,
  JournalEntry,
  EventQuery,
  WriteBatch,
} from './store/store.js';
export { RECORD_KINDS, OPEN_TASK_STATUSES } from './store/store.js';
export { MemoryStore } from './store/memory.js';
export { SqliteStore } from './store/sqlite.js';
export { PostgresStore } from './store/postgres.js';
export type { PostgresStoreOptions } from './store/postgres.js';
export type { SqliteStoreOptions } from './store/sqlite.js';
export { SCHEMA_VERSION } from './store/migrations.js';
export { GroupCommitter } from './store/commits.js';
export type { CommitSource, CommitStats, GroupCommitterOptions } from './store/commits.js';
export {
  CodomyrmexError,
  ValidationError,
  NotFoundError,
  AlreadyExistsError,
  CycleError,
  ResourceUnavailableError,
  TaskTimeoutError,
  NonRetryableError,
  CancelledError,
  WorkerCrashedError,
  ShuttingDownError,
  StoreError,
  BusError,
  ErrorCode,
} from './errors.js';
export type { SerializedError } from './errors.js';
