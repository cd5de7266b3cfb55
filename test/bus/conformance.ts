/**
 * The behaviour every MessageBus must have. Each implementation's test file calls `busConformance` with a factory;
 * the NATS bus runs the same suite against a real nats-server.
 */
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { BusEvent, MessageBus } from '../../src/index.js';
import { NotFoundError, ValidationError } from '../../src/index.js';
import { answering } from '../support/handlers.js';

export function busConformance(name: string, makeBus: () => Promise<MessageBus> | MessageBus): void {
  describe(`MessageBus conformance: ${name}`, () => {
    const open: MessageBus[] = [];
    const bus = async (): Promise<MessageBus> => {
      const b = await makeBus();
      open.push(b);
      return b;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((b) => b.close()));
    });

    it('delivers events to subscribers of their type and of all types, in publish order', async () => {
      const b = await bus();
      const typed = firstValueFrom(b.events$('task_queued').pipe(take(3), toArray()));
      const all = firstValueFrom(b.events$().pipe(take(4), toArray()));
      expect(b.wants('task_queued')).toBe(true);
      const base = {
        name: 'n',
        module: 'core',
        action: 'noop',
        priority: 'normal' as const,
        status: 'ready' as const,
        attempt: 0,
      };
      for (const id of ['a', 'b']) b.publish('task_queued', { ...base, taskId: id });
      b.publish('engine_started', { engineId: 'e', threads: 1 });
      b.publish('task_queued', { ...base, taskId: 'c' });
      const got = await typed;
      expect(got.map((e) => (e.data as { taskId: string }).taskId)).toEqual(['a', 'b', 'c']);
      const every: BusEvent[] = await all;
      expect(every.map((e) => e.type)).toEqual(['task_queued', 'task_queued', 'engine_started', 'task_queued']);
      const seqs = every.map((e) => e.seq);
      expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    });

    it('answers a request from the component that serves it', async () => {
      const b = await bus();
      b.serve(
        'task',
        answering('task', (cmd) => (cmd.type === 'task.get' ? { id: cmd.payload.taskId } : null)),
      );
      await expect(b.request('task.get', { taskId: 'x1' })).resolves.toEqual({ id: 'x1' });
      expect(b.stats().requests).toBeGreaterThanOrEqual(1);
    });

    it('awaits async handlers', async () => {
      const b = await bus();
      b.serve(
        'task',
        answering('task', async () => {
          await new Promise((r) => setImmediate(r));
          return { ids: ['late'] };
        }),
      );
      await expect(b.request('task.add', { tasks: [] })).resolves.toEqual({ ids: ['late'] });
    });

    it('carries errors back as the same class with the same message', async () => {
      const b = await bus();
      b.serve(
        'task',
        answering('task', () => {
          throw new ValidationError('task.timeout: must be a positive number of seconds');
        }),
      );
      const err = await b.request('task.get', { taskId: 'x' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toBe('task.timeout: must be a positive number of seconds');
    });

    it('refuses a request nobody serves with a NotFoundError', async () => {
      const b = await bus();
      await expect(b.request('task.get', { taskId: 'x' }, { timeoutMs: 500 })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('refuses a second server for one component, and stops serving when unsubscribed', async () => {
      const b = await bus();
      const stop = b.serve(
        'task',
        answering('task', () => 1),
      );
      expect(() =>
        b.serve(
          'task',
          answering('task', () => 2),
        ),
      ).toThrow(/already served/);
      stop();
      await expect(b.request('task.get', { taskId: 'x' }, { timeoutMs: 500 })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('is disconnected once closed and refuses requests', async () => {
      const b = await bus();
      await b.close();
      expect(b.connected).toBe(false);
      await expect(b.request('task.get', { taskId: 'x' })).rejects.toThrow(/closed/);
    });
  });
}
