/**
 * The worker-thread entry Piscina loads. It builds the module registry once (built-ins plus configured folders),
 * then runs one `module.action` per request and answers with a {@link WorkerReply}.
 */
import { threadId, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { NonRetryableError, serializeError } from '../errors.js';
import type { ActionContext } from '../modules/contract.js';
import { ModuleRegistry } from '../modules/registry.js';
import type { ChannelHost, RunRequest, WorkerBootData, WorkerReply, WorkerRequest } from './protocol.js';
import { isAbortMessage } from './protocol.js';

const noop = (): Promise<void> => Promise.resolve();
const neverAborted = new AbortController().signal;

async function boot(): Promise<(req: WorkerRequest) => Promise<WorkerReply>> {
  const data = (workerData ?? { moduleDirs: [] }) as WorkerBootData;
  const registry = await ModuleRegistry.load(data.moduleDirs);

  async function run(req: RunRequest): Promise<WorkerReply> {
    let action;
    let params;
    try {
      action = registry.resolve(req.module, req.action);
      params = registry.parseParams(req.module, req.action, req.params) as never;
    } catch (err) {
      const e = serializeError(err);
      return { type: 'error', error: { ...e, retryable: false } };
    }
    const port = req.port;
    let ctx: ActionContext;
    if (port) {
      const controller = new AbortController();
      port.on('message', (msg: unknown) => {
        if (isAbortMessage(msg)) controller.abort(new NonRetryableError(msg.reason));
      });
      const host = Comlink.wrap<ChannelHost>(port);
      ctx = {
        signal: controller.signal,
        taskId: req.taskId,
        attempt: req.attempt,
        idempotencyKey: req.idempotencyKey,
        progress: (value) => host.progress(value),
        log: (level, message) => host.log(level, message),
      };
    } else {
      ctx = { signal: neverAborted, taskId: req.taskId, attempt: req.attempt, idempotencyKey: req.idempotencyKey, progress: noop, log: noop };
    }
    try {
      const output: unknown = await action.run(params, ctx);
      return { type: 'ok', output };
    } catch (err) {
      return { type: 'error', error: serializeError(err) };
    } finally {
      port?.close();
    }
  }

  return (req: WorkerRequest): Promise<WorkerReply> => {
    if (req.type === 'probe') return Promise.resolve({ type: 'ok', output: { threadId } });
    return run(req);
  };
}

export default boot();
