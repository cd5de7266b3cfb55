/**
 * Trace context on commands: the commands that start runs or tasks carry a W3C `traceparent`, so what they start
 * continues the caller's trace. An edge that knows the caller's context (the library's active span, a NATS
 * command's header) stamps it on with {@link withTraceparent}; one the caller set is kept.
 */
import type { MessageBus } from './bus.js';
import type { CommandPayload, CommandType } from './protocol.js';

const RUN_COMMANDS: ReadonlySet<CommandType> = new Set<CommandType>([
  'workflow.execute',
  'workflow.start',
  'workflow.execute_complex',
  'workflow.start_complex',
  'project.run_workflow',
  'project.start_workflow',
]);

/** Whether `type` starts a run or a task (and so takes a `traceparent`). */
export function startsWork(type: CommandType): boolean {
  return RUN_COMMANDS.has(type) || type === 'task.add' || type === 'task.execute' || type === 'task.submit';
}

type WithTrace = { traceparent?: string | undefined };

function stamp<T>(value: T, traceparent: string): T {
  const v = value as T & WithTrace;
  return v.traceparent === undefined ? { ...v, traceparent } : v;
}

/** `payload` with `traceparent` on what it starts (the run, or each task), unless the caller set one. */
export function withTraceparent<K extends CommandType>(
  type: K,
  payload: CommandPayload<K>,
  traceparent: string,
): CommandPayload<K> {
  if (RUN_COMMANDS.has(type)) return stamp(payload, traceparent);
  if (type === 'task.add') {
    const p = payload as CommandPayload<'task.add'>;
    return { ...p, tasks: p.tasks.map((t) => stamp(t, traceparent)) };
  }
  if (type === 'task.execute' || type === 'task.submit') {
    const p = payload as CommandPayload<'task.execute'>;
    return { ...p, task: stamp(p.task, traceparent) };
  }
  return payload;
}

/**
 * `bus` as the library's clients use it: each command that starts work carries the active span's `traceparent`
 * (from `active()`), so a run started inside a span is its child. Everything else goes to `bus` untouched.
 */
export function tracingClientBus(bus: MessageBus, active: () => string | undefined): MessageBus {
  const request: MessageBus['request'] = (type, payload, options) => {
    const traceparent = startsWork(type) ? active() : undefined;
    return bus.request(
      type,
      traceparent === undefined ? payload : withTraceparent(type, payload, traceparent),
      options,
    );
  };
  return new Proxy(bus, {
    get(target, prop) {
      if (prop === 'request') return request;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
