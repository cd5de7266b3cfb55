/**
 * Overlap policies, pure: what a slot does when runs of its lane are still going. A lane is the schedule's own
 * slots, or one backfill; each has its runs in flight and its buffered slots.
 */
import type { OverlapPolicy } from '../../model/schedule.js';

/** `start`: run it now; `buffer`: wait for the running one; `skip`: record it skipped; `cancel_start`: cancel the running ones, then run it. */
export type OverlapDecision = 'start' | 'buffer' | 'skip' | 'cancel_start';

/**
 * The decision for one slot of a lane with `active` runs in flight and `buffered` slots waiting.
 *
 * @example
 * decideOverlap('buffer_one', 1, 0); // 'buffer'
 * decideOverlap('buffer_one', 1, 1); // 'skip'
 */
export function decideOverlap(policy: OverlapPolicy, active: number, buffered: number): OverlapDecision {
  if (active === 0 && buffered === 0) return 'start';
  switch (policy) {
    case 'allow':
      return 'start';
    case 'skip':
      return 'skip';
    case 'buffer_one':
      return buffered === 0 ? 'buffer' : 'skip';
    case 'buffer_all':
      return 'buffer';
    case 'cancel_previous':
      return 'cancel_start';
  }
}
