import type { TaskResult, TaskSpec, TaskStatus } from '../model/task.js';

/** A task as the store keeps it. */
export interface StoredTask {
  spec: TaskSpec;
  status: TaskStatus;
  result: TaskResult;
  updatedAt: number;
}

/**
 * Where state lives. The scheduler writes in batches (one `putTasks` per tick, never one write per transition);
 * reads are for tasks no longer held in memory and for recovery. The SQLite store arrives with durability; the
 * in-memory store keeps everything in this process.
 */
export interface Store {
  readonly kind: 'memory' | 'sqlite';
  /**
   * Whether the store wants every state change (a durable store, for recovery) or only finished tasks (the memory
   * store: live tasks are in the scheduler already, so writing them would only copy them).
   */
  readonly persistsLiveTasks: boolean;
  putTasks(tasks: readonly StoredTask[]): void;
  getTask(id: string): StoredTask | undefined;
  listTasks(filter?: { status?: readonly TaskStatus[]; limit?: number }): StoredTask[];
  /** Throws when the store cannot take writes (health checks). */
  checkWritable(): void;
  close(): void;
}
