/**
 * The schedules' timing wheel: items by the time they fire at, and the earliest time in O(log n). Times sit in a
 * binary min-heap beside the map of items; a time whose items all left stays in the heap until it is reached or
 * the heap is rebuilt (when it holds more than twice the live times), so adding and removing stay cheap and the
 * heap stays bounded. Taking what is due walks only the times due, not every time armed (with jitter, every
 * schedule has a time of its own).
 */
export class FireWheel<T> {
  readonly #due = new Map<number, Set<T>>();
  #heap: number[] = [];

  add(at: number, item: T): void {
    let set = this.#due.get(at);
    if (!set) {
      this.#due.set(at, (set = new Set()));
      this.#push(at);
    }
    set.add(item);
  }

  remove(at: number, item: T): void {
    const set = this.#due.get(at);
    if (!set) return;
    set.delete(item);
    if (set.size === 0) this.#due.delete(at);
  }

  /** The earliest time with items, or undefined when the wheel is empty. */
  next(): number | undefined {
    const heap = this.#heap;
    while (heap.length > 0 && !this.#due.has(heap[0] as number)) this.#pop();
    return heap[0];
  }

  /** Takes every item due at or before `now` off the wheel, earliest first. */
  takeDue(now: number): T[] {
    const out: T[] = [];
    for (let at = this.next(); at !== undefined && at <= now; at = this.next()) {
      this.#pop();
      for (const item of this.#due.get(at) ?? []) out.push(item);
      this.#due.delete(at);
    }
    return out;
  }

  #push(at: number): void {
    if (this.#heap.length > 2 * this.#due.size + 64) this.#heap = heapOf([...this.#due.keys()]);
    else {
      const heap = this.#heap;
      heap.push(at);
      siftUp(heap, heap.length - 1);
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop() as number;
    if (heap.length === 0) return;
    heap[0] = last;
    siftDown(heap, 0);
  }
}

function heapOf(times: number[]): number[] {
  for (let i = (times.length >> 1) - 1; i >= 0; i--) siftDown(times, i);
  return times;
}

function siftUp(heap: number[], i: number): void {
  const v = heap[i] as number;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if ((heap[parent] as number) <= v) break;
    heap[i] = heap[parent] as number;
    i = parent;
  }
  heap[i] = v;
}

function siftDown(heap: number[], i: number): void {
  const n = heap.length;
  const v = heap[i] as number;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && (heap[child + 1] as number) < (heap[child] as number)) child++;
    if ((heap[child] as number) >= v) break;
    heap[i] = heap[child] as number;
    i = child;
  }
  heap[i] = v;
}
