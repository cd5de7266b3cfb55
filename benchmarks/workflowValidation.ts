/**
 * Case 4 of the workflow benchmark: `validateWorkflow` and `createWorkflow` of large definitions (a templated chain,
 * a templated fan-out, and case 2's fan-out/fan-in for reference).
 */
import type { WorkflowStep } from '../src/model/workflow.js';
import { ModuleRegistry } from '../src/modules/registry.js';
import { validateWorkflow } from '../src/workflows/validate.js';
import { fullGc, log, median, round } from './support.js';
import { REPEATS, VALIDATE, fmtInt } from './workflowSettings.js';
import { createEngine } from './workflowPaths.js';
import { fanSteps, templatedChainSteps, templatedFanOutSteps } from './workflowShapes.js';

export interface ValidationCase {
  definition: string;
  steps: number;
  templated: number;
  /** In the target (the brief's definitions), or shown for reference only. */
  judged: boolean;
  validateMs: number[];
  createMs: number[];
  validateMedianMs: number;
  createMedianMs: number;
}

export async function validation(): Promise<ValidationCase[]> {
  const registry = new ModuleRegistry();
  const defs: { definition: string; judged: boolean; steps: () => WorkflowStep[] }[] = [
    {
      definition: `chain of ${fmtInt(VALIDATE)}, 1 in 10 templated`,
      judged: true,
      steps: () => templatedChainSteps(VALIDATE),
    },
    {
      definition: `fan-out 1 -> ${fmtInt(VALIDATE - 1)}, 1 in 10 templated`,
      judged: true,
      steps: () => templatedFanOutSteps(VALIDATE),
    },
    {
      definition: `fan-out/fan-in 1 -> ${fmtInt(VALIDATE - 2)} -> 1 (case 2's shape)`,
      judged: false,
      steps: () => fanSteps(VALIDATE),
    },
  ];
  const engine = createEngine(1);
  const out: ValidationCase[] = [];
  try {
    await engine.ready();
    let seq = 0;
    for (const d of defs) {
      const steps = d.steps();
      const templated = steps.filter(
        (s) => s.action === 'echo' && JSON.stringify(s.parameters ?? {}).includes('{{'),
      ).length;
      const def = { name: 'bench_validate', steps };
      const v = validateWorkflow(def, registry); // warm-up, and proof the definition is valid
      if (!v.valid)
        throw new Error(`validation benchmark: ${d.definition} is invalid: ${v.errors.slice(0, 3).join('; ')}`);
      const validateMs: number[] = [];
      const createMs: number[] = [];
      for (let rep = 0; rep < REPEATS; rep++) {
        await fullGc();
        let t0 = performance.now();
        const r = validateWorkflow(def, registry);
        validateMs.push(performance.now() - t0);
        if (!r.valid) throw new Error('validation benchmark: a valid definition failed validation');
        await fullGc();
        // A new name each time, so every call really stores a new workflow.
        t0 = performance.now();
        await engine.workflows.createWorkflow(`bench_create_${++seq}`, steps);
        createMs.push(performance.now() - t0);
        log(
          `  validate rep ${rep + 1}/${REPEATS}  ${d.definition.padEnd(48)} validate ${validateMs.at(-1)!.toFixed(1).padStart(7)} ms  create ${createMs.at(-1)!.toFixed(1).padStart(7)} ms`,
        );
      }
      out.push({
        definition: d.definition,
        steps: steps.length,
        templated,
        judged: d.judged,
        validateMs: validateMs.map((x) => round(x, 1)),
        createMs: createMs.map((x) => round(x, 1)),
        validateMedianMs: round(median(validateMs), 1),
        createMedianMs: round(median(createMs), 1),
      });
    }
  } finally {
    await engine.shutdown();
  }
  return out;
}
