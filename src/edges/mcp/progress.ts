/**
 * Progress of a long MCP tool call (a workflow run): each step of the run that ends is reported as it ends, as
 * `progress` of `total` with a line saying what happened (the MCP server sends these as progress notifications).
 */
import type { WorkflowResult } from '../../model/workflow.js';
import type { EdgeEngine } from '../seam.js';

/** Progress of a long call: `progress` of `total` (steps ended of steps), with a line saying what happened. */
export type ProgressReporter = (progress: number, total: number | undefined, message: string) => void;

export /** Runs `start` while reporting each step of the run named `workflowName` that ends. */
async function withStepProgress(
  engine: EdgeEngine,
  workflowName: string,
  total: number | undefined,
  progress: ProgressReporter | undefined,
  start: () => Promise<WorkflowResult>,
): Promise<WorkflowResult> {
  if (!progress) return start();
  let runId: string | null = null;
  let done = 0;
  const offs = [
    engine.registerEventHandler('workflow_started', (_, d) => {
      if (runId === null && d.workflowName === workflowName) {
        runId = d.runId;
        progress(0, d.steps, `run ${d.runId} started`);
      }
    }),
    ...(['step_completed', 'step_failed', 'step_skipped'] as const).map((name) =>
      engine.registerEventHandler(name, (event, d) => {
        if (d.runId !== runId) return;
        done += 1;
        progress(done, total, `${d.step}: ${event.replace('step_', '')}`);
      }),
    ),
  ];
  try {
    const result = await start();
    // The run's end can be answered before the last step's event reaches this handler: report what ended, once.
    const ended = Object.keys(result.steps).length;
    if (done < ended) {
      done = ended;
      progress(done, total, `run ${result.runId} ${result.status}`);
    }
    return result;
  } finally {
    for (const off of offs) off();
  }
}
