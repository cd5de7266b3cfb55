/**
 * The one error wire form, end to end: every error class (the taxonomy's and those of the modules, the store and
 * the templates) thrown by a command handler reaches a client with the same `SerializedError` whichever way it
 * travels: the in-memory bus, NATS request/reply, the MCP server (its `structuredContent.error`) and the CLI's
 * `--json` output over a daemon's NATS.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryBus } from '../src/bus/memory.js';
import { NatsBus } from '../src/bus/nats.js';
import { createMcpServer } from '../src/edges/mcp/server.js';
import { RemoteEngine } from '../src/edges/nats/client.js';
import type { SerializedError } from '../src/errors.js';
import {
  ActionError,
  AlreadyExistsError,
  BusError,
  CancelledError,
  ChildRunError,
  CodomyrmexError,
  ConditionFalseError,
  CycleError,
  ErrorCode,
  NonRetryableError,
  NotFoundError,
  RecoveryError,
  ResourceUnavailableError,
  RunFailedError,
  serializeError,
  ShuttingDownError,
  SkippedError,
  StoreError,
  TaskTimeoutError,
  UsageError,
  ValidationError,
  WaitTimeoutError,
  WorkerCrashedError,
} from '../src/errors.js';
import { LlmError } from '../src/modules/insights/llm.js';
import { HttpError } from '../src/modules/http.js';
import { WriterError } from '../src/store/writerThread.js';
import { TemplateResolutionError } from '../src/workflows/template.js';
import { runCli } from './support/cli.js';
import { startNatsServer, type NatsServer } from './support/nats.js';
import { answering, type SeenCommand } from './support/handlers.js';

type Make = (message: string, cause: unknown) => unknown;

/** Every error class there is, each made with a message and a cause. */
const CLASSES: Record<string, Make> = {
  CodomyrmexError: (m, cause) => new CodomyrmexError(m, ErrorCode.INTERNAL, { cause }),
  ValidationError: (m, cause) => new ValidationError([`task.timeout: ${m}`, 'task.module: required'], { cause }),
  CycleError: (m, cause) => new CycleError(['a', m, 'a'], 'task dependency', { cause }),
  NotFoundError: (m, cause) => new NotFoundError(m, { cause }),
  ResourceUnavailableError: (m, cause) => new ResourceUnavailableError(m, { cause }),
  TaskTimeoutError: (m, cause) => new TaskTimeoutError(m, { cause }),
  NonRetryableError: (m, cause) => new NonRetryableError(m, { cause }),
  CancelledError: (m, cause) => new CancelledError(m, { cause }),
  SkippedError: (m, cause) => new SkippedError(m, { cause }),
  ConditionFalseError: (m, cause) => new ConditionFalseError(m, { cause }),
  WaitTimeoutError: (m, cause) => new WaitTimeoutError(m, { cause }),
  ChildRunError: (m, cause) => new ChildRunError(m, { cause }),
  AlreadyExistsError: (m, cause) => new AlreadyExistsError(m, { cause }),
  WorkerCrashedError: (m, cause) => new WorkerCrashedError(m, { cause }),
  ActionError: (m, cause) => new ActionError(m, { cause }),
  RecoveryError: (m, cause) => new RecoveryError(m, { cause }),
  ShuttingDownError: (m, cause) => new ShuttingDownError(m, { cause }),
  UsageError: (m, cause) => new UsageError(m, { cause }),
  RunFailedError: (m, cause) => new RunFailedError(m, { cause }),
  BusError: (m, cause) => new BusError(m, ErrorCode.BUS_TIMEOUT, { cause }),
  StoreError: (m, cause) => new StoreError(m, ErrorCode.STORE_CORRUPT, { cause }),
  HttpError: (m, cause) => new HttpError(m, false, 503, { cause }),
  LlmError: (m, cause) => new LlmError(m, true, { cause }),
  TemplateResolutionError: (m, cause) => new TemplateResolutionError(m, { cause }),
  WriterError: (m) => new WriterError(m, 'SQLITE_FULL'),
  TypeError: (m, cause) => new TypeError(m, { cause }),
  'a thrown object': (m) => ({ message: m, retryable: false }),
};
const NAMES = Object.keys(CLASSES);

/** An error of any class, with a chain of causes of any class (longer than the wire keeps, sometimes). */
const anyError = fc
  .tuple(fc.array(fc.tuple(fc.constantFrom(...NAMES), fc.string({ maxLength: 40 })), { minLength: 1, maxLength: 8 }))
  .map(([chain]) => chain.reduceRight<unknown>((cause, [name, message]) => CLASSES[name]!(message, cause), undefined));

let server: NatsServer;
let dir: string;
let current: unknown = null;
/** When set, the handler throws the error named by the request's task id instead of `current`. */
let byId: Map<string, unknown> | null = null;
const memory = new InMemoryBus();
let daemon: NatsBus;
let client: NatsBus;
let remote: RemoteEngine;
let mcp: Client;
const subjectPrefix = `t${process.pid}.wire`;

/** What a client sees of an error thrown by a `task.explain` handler. */
const thrown = async (request: () => Promise<unknown>): Promise<SerializedError> => {
  try {
    await request();
  } catch (err) {
    return serializeError(err);
  }
  throw new Error('the request succeeded; the handler throws');
};

beforeAll(async () => {
  server = await startNatsServer();
  dir = await mkdtemp(join(tmpdir(), 'codomyrmex-wire-'));
  const fail = (command: SeenCommand): never => {
    throw byId && command.type === 'task.explain' ? byId.get(command.payload.taskId) : current;
  };
  // A task explain that is not found asks the workflows whether it is a step: it is not (null), the error stands.
  const noStep = answering('workflow', () => null);
  memory.serve('task', answering('task', fail));
  memory.serve('workflow', noStep);
  daemon = await NatsBus.connect({ servers: server.url, subjectPrefix });
  daemon.serve('task', answering('task', fail));
  daemon.serve('workflow', noStep);
  await daemon.ready();
  client = await NatsBus.connect({ servers: server.url, subjectPrefix });
  remote = await RemoteEngine.connect({ servers: server.url, subjectPrefix });
  const [mine, theirs] = InMemoryTransport.createLinkedPair();
  await createMcpServer(() => remote).connect(theirs);
  mcp = new Client({ name: 'wire-test', version: '1' });
  await mcp.connect(mine);
});

afterAll(async () => {
  await mcp?.close();
  await remote?.close();
  await client?.close();
  await daemon?.close();
  await memory.close();
  await server?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('the error wire form', () => {
  it('is the same through the memory bus, NATS and MCP, for every class and cause chain', async () => {
    await fc.assert(
      fc.asyncProperty(anyError, async (err) => {
        current = err;
        const sent = serializeError(err);
        expect(await thrown(() => memory.request('task.explain', { taskId: 'x' }))).toEqual(sent);
        expect(await thrown(() => client.request('task.explain', { taskId: 'x' }))).toEqual(sent);
        const called = await mcp.callTool({ name: 'explain_task', arguments: { task_id: 'x' } });
        expect(called.isError).toBe(true);
        expect((called.structuredContent as { error: unknown }).error).toEqual(sent);
      }),
      { numRuns: 60 },
    );
  }, 60_000);

  it('is what the CLI prints with --json, for every class', async () => {
    const flags = ['--nats', server.url, '--subject-prefix', subjectPrefix, '--json'];
    // The handler throws the error its task id names: several CLI processes run at once.
    const errors = new Map(
      NAMES.map((name) => [name, CLASSES[name]!(`${name} says no`, new ActionError('the cause'))]),
    );
    byId = errors;
    try {
      for (let i = 0; i < NAMES.length; i += 4) {
        await Promise.all(
          NAMES.slice(i, i + 4).map(async (name) => {
            const ran = await runCli(dir, ['task', 'explain', name, ...flags]);
            expect(ran.code, `${name}: ${ran.stderr}`).not.toBe(0);
            expect((JSON.parse(ran.stdout) as { error: unknown }).error, name).toEqual(
              serializeError(errors.get(name)),
            );
          }),
        );
      }
    } finally {
      byId = null;
    }
  }, 120_000);

  it('carries a cycle as data and rebuilds it as a CycleError', async () => {
    current = new CycleError(['a', 'b', 'a'], 'task dependency');
    const err = await client.request('task.explain', { taskId: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CycleError);
    expect((err as CycleError).cycle).toEqual(['a', 'b', 'a']);
    expect((err as CycleError).message).toBe('task dependency cycle: a -> b -> a');
  });
});
