/**
 * A workflow run as it happens: one line per step with a spinner, its status and elapsed time, redrawn in place on
 * a terminal; plain lines (one per start and end) when stdout is not one. Ctrl-C cancels the run. A step submitted
 * but not started is asked about once a second (`explainTask`): when a concurrency key, a rate limit, resources, a
 * session or the workers hold it back, it shows as `waiting` with the reason.
 */
import type { CliEngine } from './remote.js';
import type { WorkflowResult } from '../../model/workflow.js';
import type { TaskExplanation } from '../../model/taskView.js';
import { ms, outputWidth } from './format.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const ICON: Record<string, string> = { completed: '✔', failed: '✖', timed_out: '✖', cancelled: '■', skipped: '-', waiting: '·' };
/** What holds a submitted step back, as explainTask names it: shown on its line. */
const HELD: ReadonlySet<string> = new Set(['concurrency_key', 'rate_limit', 'resources', 'session_limit', 'worker', 'concurrency']);
const POLL_MS = 1000;

interface Line {
  step: string;
  status: string;
  startedAt: number | null;
  durationMs: number | null;
  note: string;
  /** Its task has started (step_started comes when it is submitted). */
  started?: boolean;
}

export interface LiveRunOptions {
  /** The run's steps, in order (lines appear for them up front). */
  steps: string[];
  /** Redraw in place (a terminal) or print plain lines. */
  tty: boolean;
  /** Print nothing while running (`--json`). */
  quiet: boolean;
  write?: (text: string) => void;
}

/** Follows the run of `workflowName` (the first one that starts, or `runId`) until `finish`. */
export class LiveRun {
  readonly #lines = new Map<string, Line>();
  readonly #opts: LiveRunOptions;
  readonly #write: (text: string) => void;
  readonly #offs: (() => void)[] = [];
  #runId: string | null;
  #drawn = 0;
  #frame = 0;
  #timer: NodeJS.Timeout | null = null;
  #interrupted = false;
  #onRunId: ((id: string) => void)[] = [];
  #poll: NodeJS.Timeout | null = null;

  constructor(engine: Pick<CliEngine, 'registerEventHandler'> & Partial<Pick<CliEngine, 'explainTask'>>, workflowName: string, opts: LiveRunOptions, runId: string | null = null) {
    this.#opts = opts;
    this.#runId = runId;
    this.#write = opts.write ?? ((t) => void process.stdout.write(t));
    for (const s of opts.steps) this.#lines.set(s, { step: s, status: 'waiting', startedAt: null, durationMs: null, note: '' });
    const mine = (id: string): boolean => this.#runId === id;
    this.#offs.push(
      engine.registerEventHandler('workflow_started', (_, d) => {
        if (this.#runId === null && d.workflowName === workflowName) this.#setRunId(d.runId);
      }),
      engine.registerEventHandler('step_started', (_, d) => {
        if (mine(d.runId)) this.#update(d.step, { status: 'running', startedAt: Date.now() });
      }),
      engine.registerEventHandler('step_completed', (_, d) => {
        if (mine(d.runId)) this.#update(d.step, { status: 'completed', durationMs: d.durationMs });
      }),
      engine.registerEventHandler('step_failed', (_, d) => {
        if (mine(d.runId)) this.#update(d.step, { status: d.status, durationMs: d.durationMs, note: d.error.message });
      }),
      engine.registerEventHandler('step_skipped', (_, d) => {
        if (mine(d.runId)) this.#update(d.step, { status: 'skipped', note: d.reason });
      }),
      engine.registerEventHandler('task_started', (_, d) => {
        const id = this.#runId;
        if (id === null || !d.taskId.startsWith(`${id}.`)) return;
        const line = this.#lines.get(d.taskId.slice(id.length + 1));
        if (!line || line.started) return;
        line.started = true;
        if (line.status === 'waiting') this.#update(line.step, { status: 'running', note: '' });
      }),
    );
    const explain = engine.explainTask?.bind(engine);
    if (explain && !opts.quiet) {
      this.#poll = setInterval(() => void this.#explainHeld(explain), POLL_MS);
      this.#poll.unref();
    }
    if (!opts.quiet && opts.tty) {
      this.#draw();
      this.#timer = setInterval(() => {
        this.#frame = (this.#frame + 1) % FRAMES.length;
        this.#draw();
      }, 100);
      this.#timer.unref();
    }
  }

  get runId(): string | null {
    return this.#runId;
  }

  get interrupted(): boolean {
    return this.#interrupted;
  }

  /** Resolves with the run id once the run has started. */
  started(): Promise<string> {
    if (this.#runId !== null) return Promise.resolve(this.#runId);
    return new Promise((resolve) => this.#onRunId.push(resolve));
  }

  setRunId(id: string): void {
    if (this.#runId === null) this.#setRunId(id);
  }

  #setRunId(id: string): void {
    this.#runId = id;
    for (const f of this.#onRunId.splice(0)) f(id);
  }

  /** Ctrl-C: cancel the run once; the caller waits for it to end and exits 130. */
  cancelOnInterrupt(cancel: (runId: string) => Promise<unknown>): () => void {
    const onSigint = (): void => {
      if (this.#interrupted) return;
      this.#interrupted = true;
      if (!this.#opts.quiet && !this.#opts.tty) this.#write('interrupted: cancelling the run\n');
      void this.started().then((id) => cancel(id)).catch(() => undefined);
    };
    process.on('SIGINT', onSigint);
    return () => process.off('SIGINT', onSigint);
  }

  #update(step: string, change: Partial<Line>): void {
    const line = this.#lines.get(step) ?? { step, status: 'waiting', startedAt: null, durationMs: null, note: '' };
    Object.assign(line, change);
    this.#lines.set(step, line);
    if (this.#opts.quiet) return;
    if (this.#opts.tty) this.#draw();
    else this.#write(`${line.step} ${line.status}${line.durationMs !== null && line.status !== 'running' ? ` in ${ms(line.durationMs)}` : ''}${line.note ? `: ${line.note}` : ''}\n`);
  }

  #render(line: Line, width: number): string {
    const icon = line.status === 'running' ? FRAMES[this.#frame] : (ICON[line.status] ?? ' ');
    const elapsed = line.status === 'running' && line.startedAt !== null ? ms(Date.now() - line.startedAt) : ms(line.durationMs);
    const text = `${icon} ${line.step.padEnd(width)}  ${line.status.padEnd(9)}  ${elapsed.padStart(8)}${line.note ? `  ${line.note}` : ''}`;
    const cols = outputWidth();
    return text.length > cols ? `${text.slice(0, cols - 1)}…` : text;
  }

  #draw(): void {
    const lines = [...this.#lines.values()];
    const width = Math.max(4, ...lines.map((l) => l.step.length));
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : '';
    this.#write(up + lines.map((l) => `\x1b[2K${this.#render(l, width)}\n`).join(''));
    this.#drawn = lines.length;
  }

  /** Asks why each submitted, not started step waits; one held back by flow control or capacity shows the reason. */
  async #explainHeld(explain: (taskId: string) => Promise<TaskExplanation>): Promise<void> {
    const id = this.#runId;
    if (id === null) return;
    for (const line of [...this.#lines.values()]) {
      if (line.started || !(line.status === 'running' || (line.status === 'waiting' && line.note !== ''))) continue;
      const why = await explain(`${id}.${line.step}`).catch(() => null);
      if (!why || line.started || why.status !== 'ready') continue;
      const held = why.waitingOn !== null && HELD.has(why.waitingOn.kind);
      const note = held ? why.summary.replace(/^task "[^"]*" /, '') : '';
      if (held ? line.status !== 'waiting' || line.note !== note : line.status === 'waiting') this.#update(line.step, { status: held ? 'waiting' : 'running', note });
    }
  }

  /** Stops following; draws the last state. */
  finish(result?: WorkflowResult): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = null;
    for (const off of this.#offs.splice(0)) off();
    if (result) for (const s of Object.values(result.steps)) this.#update0(s.step, s.status, s.durationMs, s.error?.message ?? '');
    if (!this.#opts.quiet && this.#opts.tty) this.#draw();
  }

  #update0(step: string, status: string, durationMs: number | null, note: string): void {
    const line = this.#lines.get(step);
    if (line) Object.assign(line, { status, durationMs, note: line.note || note });
  }
}
