/**
 * The workflow benchmark's report: the targets judged on the results, and the tables it prints.
 */
import { log } from './support.js';
import type { Path } from './workflowSettings.js';
import { ALL_PATHS, PATHS, REPEATS, TARGETS, THREADS, fmtInt } from './workflowSettings.js';
import type { PathStats } from './workflowPaths.js';
import { PATH_LABEL } from './workflowPaths.js';
import type { ChainResult } from './workflowChain.js';
import type { DagResult } from './workflowDag.js';
import type { ValidationCase } from './workflowValidation.js';

export interface Target {
  name: string;
  target: string;
  actual: string;
  pass: boolean;
}

export interface Results {
  chain: ChainResult | null;
  fan: DagResult[];
  layered: (DagResult & { layers: number; width: number; edges: number; seed: number })[];
  validation: ValidationCase[];
}

export function targetsOf(r: Results): Target[] {
  const out: Target[] = [];
  if (r.chain && PATHS.has('workflow')) {
    const c = r.chain;
    const perStep = c.paths.workflow.medianMs / c.steps;
    out.push({
      name: `chain of ${fmtInt(c.steps)}: wall time per step`,
      target: `< ${TARGETS.chainMsPerStepMax} ms`,
      actual: `${perStep.toFixed(3)} ms (bare round trip ${(c.paths.bare.medianMs / c.steps).toFixed(3)} ms)`,
      pass: perStep < TARGETS.chainMsPerStepMax,
    });
  }
  for (const f of r.fan) {
    if (!PATHS.has('bare') || !PATHS.has('workflow')) break;
    const w = f.paths.workflow;
    out.push({
      name: `fan-out/fan-in ${fmtInt(f.steps)} cptw=${f.concurrentTasksPerWorker}`,
      target: `<= ${TARGETS.fanRatioMax}x bare`,
      actual: `${w.ratio.toFixed(2)}x (${fmtInt(w.medianMs)} ms vs ${fmtInt(f.paths.bare.medianMs)} ms; best ${w.bestRatio.toFixed(2)}x)`,
      pass: w.ratio <= TARGETS.fanRatioMax,
    });
  }
  for (const v of r.validation) {
    if (!v.judged) continue;
    out.push({
      name: `validateWorkflow: ${v.definition}`,
      target: `< ${TARGETS.validateMsMax} ms`,
      actual: `${v.validateMedianMs} ms`,
      pass: v.validateMedianMs < TARGETS.validateMsMax,
    });
    out.push({
      name: `createWorkflow: ${v.definition}`,
      target: `< ${TARGETS.validateMsMax} ms`,
      actual: `${v.createMedianMs} ms`,
      pass: v.createMedianMs < TARGETS.validateMsMax,
    });
  }
  return out;
}

function pathRows(
  paths: Record<Path, PathStats>,
  bareLabel: string,
  extra: (p: Path) => Record<string, string | number>,
): Record<string, string | number>[] {
  return ALL_PATHS.filter((p) => PATHS.has(p)).map((p) => {
    const s = paths[p];
    return {
      path: p === 'bare' ? bareLabel : PATH_LABEL[p],
      ...extra(p),
      'wall ms median': s.medianMs,
      'wall ms best': s.bestMs,
      'µs/step': s.usPerStep,
      'steps/s': fmtInt(s.stepsPerSec),
      'median vs bare': `${s.ratio.toFixed(3)}x`,
      'best vs bare': `${s.bestRatio.toFixed(3)}x`,
    };
  });
}

export function printTables(r: Results, targets: readonly Target[]): void {
  if (r.chain) {
    const c = r.chain;
    log(
      `\nChain: ${fmtInt(c.steps)} steps, each depending on the previous; threads=${c.threads}, cptw=${c.concurrentTasksPerWorker}, one engine and pool, median of ${REPEATS}`,
    );
    console.table(pathRows(c.paths, c.bareLabel, () => ({})));
    log(
      `  workflow overhead per step over a bare round trip: ${c.overheadUsPerStep} µs; createWorkflow ${c.createMs} ms`,
    );
  }
  const dagTable = (rows: readonly DagResult[]): void => {
    console.table(rows.flatMap((d) => pathRows(d.paths, d.bareLabel, () => ({ cptw: d.concurrentTasksPerWorker }))));
    log(
      `  createWorkflow on each fresh engine (not in the run's time), median: ${rows.map((d) => `cptw=${d.concurrentTasksPerWorker} ${d.createMedianMs} ms`).join(', ')}`,
    );
  };
  if (r.fan.length) {
    const f = r.fan[0]!;
    log(
      `Fan-out/fan-in: 1 root -> ${fmtInt(f.steps - 2)} parallel steps -> 1 sink; threads=${THREADS}, median of ${REPEATS}, fresh engine/pool per run`,
    );
    dagTable(r.fan);
  }
  if (r.layered.length) {
    const l = r.layered[0]!;
    log(
      `Layered DAG: ${l.layers} layers x ${l.width} steps, ${fmtInt(l.edges)} edges (2-3 per step, seed ${l.seed}); threads=${THREADS}, median of ${REPEATS}, fresh engine/pool per run`,
    );
    dagTable(r.layered);
  }
  if (r.validation.length) {
    log(
      `Validation: 10k-step definitions, median of ${REPEATS} (createWorkflow = validation + storing, through the engine's bus)`,
    );
    console.table(
      r.validation.map((v) => ({
        definition: v.definition,
        steps: v.steps,
        templated: v.templated,
        'validateWorkflow ms': v.validateMedianMs,
        'createWorkflow ms': v.createMedianMs,
        judged: v.judged ? 'target' : 'reference',
      })),
    );
  }
  log('Targets');
  console.table(
    targets.map((t) => ({ target: t.name, wanted: t.target, actual: t.actual, result: t.pass ? 'PASS' : 'FAIL' })),
  );
}
