import { describe, expect, it } from 'vitest';
import {
  ActionError,
  CancelledError,
  CodomyrmexError,
  CycleError,
  ErrorCode,
  NotFoundError,
  serializeError,
  ShuttingDownError,
  SkippedError,
  StoreError,
  TaskTimeoutError,
  ValidationError,
} from '../src/errors.js';
import { rebuildError, toBoundaryError } from '../src/rebuildError.js';

describe('errors', () => {
  it('the table-made classes are real classes with their name, code and retryability', () => {
    const e = new NotFoundError('no task "x"');
    expect(e).toBeInstanceOf(NotFoundError);
    expect(e).toBeInstanceOf(CodomyrmexError);
    expect(e).not.toBeInstanceOf(CancelledError);
    expect(e.name).toBe('NotFoundError');
    expect(NotFoundError.name).toBe('NotFoundError');
    expect(e.code).toBe(ErrorCode.NOT_FOUND);
    expect(e.retryable).toBe(false);
    expect(new ActionError('x').retryable).toBe(true);
    expect(new ShuttingDownError().message).toMatch(/shutting down/);
    expect(new SkippedError('s').code).toBe('DEPENDENCY_FAILED');
  });

  it('crosses a boundary with code, name, message, retryable, issues and the cause chain, and comes back as its class', () => {
    const root = new TypeError('disk said no');
    const store = new StoreError('cannot write state.db', ErrorCode.STORE_WRITE_FAILED, { cause: root });
    const top = new ValidationError(['task.timeout: must be positive', 'task.module: required'], { cause: store });
    const wire = JSON.parse(JSON.stringify(serializeError(top))) as ReturnType<typeof serializeError>;
    expect(wire).toMatchObject({
      name: 'ValidationError',
      code: 'VALIDATION',
      retryable: false,
      issues: ['task.timeout: must be positive', 'task.module: required'],
      cause: {
        name: 'StoreError',
        code: 'STORE_WRITE_FAILED',
        retryable: true,
        cause: { name: 'TypeError', code: 'ACTION_FAILED', message: 'disk said no' },
      },
    });
    const back = rebuildError(wire);
    expect(back).toBeInstanceOf(ValidationError);
    expect((back as ValidationError).issues).toEqual(top.issues);
    expect(back.cause).toBeInstanceOf(StoreError);
    expect((back.cause as StoreError).code).toBe('STORE_WRITE_FAILED');
    expect(((back.cause as StoreError).cause as CodomyrmexError).name).toBe('TypeError');
  });

  it('rebuilds every class by name, cycles and unknown names included', () => {
    for (const e of [
      new TaskTimeoutError('t'),
      new CancelledError('c'),
      new NotFoundError('n'),
      new ShuttingDownError('s'),
    ]) {
      const back = rebuildError(serializeError(e));
      expect(back.constructor).toBe(e.constructor);
      expect(back.message).toBe(e.message);
    }
    const cycle = rebuildError(serializeError(new CycleError(['a', 'b', 'a'], 'task dependency')));
    expect(cycle).toBeInstanceOf(CycleError);
    expect((cycle as CycleError).cycle).toEqual(['a', 'b', 'a']);
    expect(cycle.message).toBe('task dependency cycle: a -> b -> a');
    const odd = rebuildError({ name: 'WeirdError', code: 'NOPE', message: 'm', retryable: false });
    expect(odd.name).toBe('WeirdError');
    expect(odd.code).toBe('UNKNOWN');
    expect(odd.retryable).toBe(false);
  });

  it('a thrown plain object with retryable: false is non-retryable and keeps its message; a foreign error becomes a codomyrmex one', () => {
    expect(serializeError({ message: 'quota exceeded', retryable: false })).toMatchObject({
      code: 'NON_RETRYABLE',
      message: 'quota exceeded',
      retryable: false,
    });
    expect(serializeError({ answer: 42 }).message).toBe('a thrown value with no message: {"answer":42}');
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(serializeError(circular).message).toBe('a thrown Object with no message');
    const bug = new TypeError('x is undefined');
    const crossed = toBoundaryError(bug);
    expect(crossed).toBeInstanceOf(CodomyrmexError);
    expect(crossed.name).toBe('TypeError');
    expect(crossed.stack).toBe(bug.stack);
    const ours = new NotFoundError('n');
    expect(toBoundaryError(ours)).toBe(ours);
  });

  it('a cause chain is cut at a bounded depth (a cyclic cause cannot loop)', () => {
    const a = new ActionError('a');
    const b = new ActionError('b', { cause: a });
    Object.defineProperty(a, 'cause', { value: b });
    let wire = serializeError(b);
    let depth = 0;
    while (wire.cause) {
      wire = wire.cause;
      depth++;
    }
    expect(depth).toBeLessThanOrEqual(6);
  });
});
