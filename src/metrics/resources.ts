/**
 * The bridge from the resource ledger to the resource families: `engine.metrics.setResourceSource(() =>
 * resourceUsageFromLedger(ledger.usage()))`. Amounts go out in Prometheus base units: the ledger keeps memory and
 * disk in MiB (`mb`, with 1 gb = 1024 mb) and bandwidth in `mbps`; the metrics carry bytes and bits per second.
 */
import type { ResourceUsage as LedgerUsage } from '../model/resource.js';
import type { ResourceUsage } from './snapshot.js';

const TO_BASE: Record<string, { unit: string; factor: number }> = {
  mb: { unit: 'bytes', factor: 2 ** 20 },
  mbps: { unit: 'bits_per_second', factor: 1e6 },
};

/** The ledger's usage rows as the resource families take them, in base units. */
export function resourceUsageFromLedger(usage: readonly LedgerUsage[]): ResourceUsage[] {
  return usage.map((u) => {
    const base = TO_BASE[u.unit];
    const factor = base?.factor ?? 1;
    return {
      resource: u.id,
      type: u.type,
      unit: base?.unit ?? u.unit,
      capacity: u.capacity * factor,
      allocated: u.allocated * factor,
    };
  });
}
