import type { Subscription } from 'rxjs';
import type { MessageBus } from '../../bus/bus.js';
import type { BusEvent } from '../../bus/protocol.js';
import type { CommitSource, GroupCommitter } from '../../store/commits.js';
import type { WriteBatch } from '../../store/store.js';

/**
 * The event journal's writer: every event on the bus is appended to the store, in publish order, in the same
 * commit as the state changes of that turn. While the store fails, events wait in memory (at most `maxBuffered`;
 * beyond that the oldest are dropped and counted in {@link Journal.dropped}).
 */
export class Journal implements CommitSource {
  readonly #maxBuffered: number;
  #buffer: BusEvent[] = [];
  #inFlight: BusEvent[] | null = null;
  readonly #sub: Subscription;
  readonly #unregister: () => void;
  /** Events dropped because the store failed for longer than the buffer lasts. */
  dropped = 0;

  constructor(bus: MessageBus, commits: GroupCommitter, maxBuffered: number) {
    this.#maxBuffered = Math.max(1, maxBuffered);
    this.#unregister = commits.register(this);
    this.#sub = bus.events$().subscribe((event) => {
      this.#buffer.push(event);
      commits.schedule();
    });
  }

  collect(batch: WriteBatch): void {
    if (this.#buffer.length === 0) return;
    this.#inFlight = this.#buffer;
    this.#buffer = [];
    if (batch.events.length === 0) batch.events = this.#inFlight;
    else for (const e of this.#inFlight) batch.events.push(e);
  }

  committed(): void {
    this.#inFlight = null;
  }

  failed(): void {
    if (!this.#inFlight) return;
    const all = this.#inFlight.concat(this.#buffer);
    this.#inFlight = null;
    const over = all.length - this.#maxBuffered;
    if (over > 0) this.dropped += over;
    this.#buffer = over > 0 ? all.slice(over) : all;
  }

  /** Stops recording (events published later are not journaled). Pending events are still committed. */
  stop(): void {
    this.#sub.unsubscribe();
  }

  /** Stops recording and leaves the committer. */
  detach(): void {
    this.stop();
    this.#unregister();
  }
}
