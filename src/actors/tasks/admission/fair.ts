/**
 * Fair queueing within one priority level: the entries of each fairness key (a task's first concurrency key) wait
 * in a FIFO of their own, and the level serves its keys round-robin, so 10,000 waiting tasks of one key delay
 * another key's task by one turn, not 10,000. A key at its concurrency limit is taken out of the rotation (its
 * group is detached, its entries stay in order) until one of its holders releases it. Every operation is O(1) in
 * the number of keys; entries without a key share one group.
 */

/** A FIFO over an array with a moving head: O(1) push and shift, compacted now and then. */
export class Fifo<T> {
  #items: T[] = [];
  #head = 0;
  get size(): number {
    return this.#items.length - this.#head;
  }
  push(item: T): void {
    this.#items.push(item);
  }
  peek(): T | undefined {
    return this.#items[this.#head];
  }
  /** The items from head to tail (for counts and listings). */
  items(): T[] {
    return this.#items.slice(this.#head);
  }
  shift(): T | undefined {
    const item = this.#items[this.#head];
    if (item === undefined) return undefined;
    this.#items[this.#head++] = undefined as T;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}

/** What fair queueing needs of an entry. */
export interface FairEntry {
  /** False once the entry left the queue some other way (cancelled): it is then skipped. */
  readonly live: boolean;
  /** The key it is queued under (null: none). */
  readonly fairKey?: string | null;
}

/** Tells a level which keys are at their limit, and takes the groups it holds out until they have room. */
export interface FairGate {
  blocked(key: string): boolean;
  detach(key: string, group: FairGroup): void;
}

/** The entries of one key at one level. */
export class FairGroup<T extends FairEntry = FairEntry> {
  readonly items = new Fifo<T>();
  /** Live entries in it. */
  live = 0;
  next: FairGroup<T> | null = null;
  /** In its level's rotation. */
  inRing = false;
  /** Held out of the rotation while its key is at its limit. */
  detached = false;

  constructor(
    readonly key: string | null,
    readonly level: FairLevel<T>,
  ) {}

  /** Its key has room again: back into the rotation. */
  reattach(): void {
    this.detached = false;
    this.level.attach(this);
  }
}

export class FairLevel<T extends FairEntry> {
  readonly #gate: FairGate | null;
  readonly #plain: FairGroup<T>;
  readonly #groups = new Map<string, FairGroup<T>>();
  #head: FairGroup<T> | null = null;
  #tail: FairGroup<T> | null = null;

  constructor(gate: FairGate | null) {
    this.#gate = gate;
    this.#plain = new FairGroup<T>(null, this);
  }

  push(entry: T): void {
    const key = entry.fairKey ?? null;
    let g = this.#plain;
    if (key !== null) {
      let found = this.#groups.get(key);
      if (!found) this.#groups.set(key, (found = new FairGroup<T>(key, this)));
      g = found;
    }
    g.items.push(entry);
    g.live++;
    if (!g.inRing && !g.detached) this.#append(g);
  }

  /** A live entry left without being popped. */
  forget(entry: T): void {
    const key = entry.fairKey ?? null;
    const g = key === null ? this.#plain : this.#groups.get(key);
    if (g) g.live--;
  }

  /** The entry {@link shift} would return: the live head of the first group in the rotation whose key has room. */
  peek(): T | undefined {
    const gate = this.#gate;
    for (;;) {
      const g = this.#head;
      if (!g) return undefined;
      const h = g.items.peek();
      if (h === undefined) {
        this.#dropHead();
        this.#forgetIfIdle(g);
        continue;
      }
      if (!h.live) {
        g.items.shift();
        continue;
      }
      if (g.key !== null && gate?.blocked(g.key) === true) {
        this.#dropHead();
        g.detached = true;
        gate.detach(g.key, g);
        continue;
      }
      return h;
    }
  }

  /** Takes the next entry and moves its group to the end of the rotation. */
  shift(): T | undefined {
    const h = this.peek();
    if (h === undefined) return undefined;
    const g = this.#head as FairGroup<T>;
    g.items.shift();
    g.live--;
    if (g.next !== null) {
      // Round-robin: the group goes to the back (a lone group stays where it is).
      this.#dropHead();
      if (g.items.size > 0) this.#append(g);
      else this.#forgetIfIdle(g);
    } else if (g.items.size === 0) {
      this.#dropHead();
      this.#forgetIfIdle(g);
    }
    return h;
  }

  /** Puts a group back into the rotation (see {@link FairGroup.reattach}). */
  attach(g: FairGroup<T>): void {
    if (g.inRing || g.detached) return;
    if (g.items.size === 0) this.#forgetIfIdle(g);
    else this.#append(g);
  }

  /** Every entry, live or not, group by group (for listings and explain; O(n)). */
  *items(): Generator<T> {
    yield* this.#plain.items.items();
    for (const g of this.#groups.values()) yield* g.items.items();
  }

  /** The live entries waiting under `key` at this level (0 when none). */
  waiting(key: string): number {
    return this.#groups.get(key)?.live ?? 0;
  }

  #append(g: FairGroup<T>): void {
    g.inRing = true;
    g.next = null;
    if (this.#tail) this.#tail.next = g;
    else this.#head = g;
    this.#tail = g;
  }

  #dropHead(): void {
    const g = this.#head;
    if (!g) return;
    this.#head = g.next;
    if (this.#head === null) this.#tail = null;
    g.next = null;
    g.inRing = false;
  }

  #forgetIfIdle(g: FairGroup<T>): void {
    if (g.key !== null && !g.inRing && !g.detached && g.items.size === 0 && this.#groups.get(g.key) === g)
      this.#groups.delete(g.key);
  }
}
