/**
 * A workflow run as it happens: one line per step with a spinner, its status and elapsed time, redrawn in place on
 * a terminal; plain lines (one per start and end) when stdout is not one. A watcher attaching to a run in progress
 * starts from the run's current state ({@link LiveRun.attach}). Ctrl-C cancels the run or detaches, as the caller says.
 * A step submitted but not started is asked about once a second (`explainTask`): when a concurrency key, a rate
 * limit, resources, a session or the workers hold it back, it shows as `waiting` with the reason.
 */
import type { CliEngine } from './remote.js';
import type { WorkflowResult } from '../../model/workflow.js';
import type { WorkflowRun } from '../../model/run.js';
import type { TaskExplanation } from '../../model/taskView.js';
import { ms, outputWidth } from './format.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** What holds a submitted step back, as explainTask names it: shown on its line. */
const HELD: ReadonlySet<string> = new Set([
  'concurrency_key',
  'rate_limit',
  'resources',
  'session_limit',
  'worker',
  'concurrency',
]);
const POLL_MS = 1000;
const ICON: Record<string, string> = {
  completed: '✔',
  failed: '✖',
  timed_out: '✖',
  cancelled: '■',
  skipped: '-',
  pending: '·',
  waiting: '⏸',
};
const ITEM_ENDS = ['task_completed', 'task_failed', 'task_timed_out', 'task_cancelled', 'task_skipped'] as const;

interface Line {
  step: string;
  status: string;
  startedAt: number | null;
  durationMs: number | null;
  note: string;
  /** Its task has started (step_started comes when it is submitted). */
  started?: boolean;
  /** A forEach step: items ended, of how many. */
  items?: { ended: number; total: number };
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
  /** Steps an event has updated: a snapshot read later must not take them back. */
  readonly #fresh = new Set<string>();

  constructor(
    engine: Pick<CliEngine, 'registerEventHandler'> & Partial<Pick<CliEngine, 'explainTask'>>,
    workflowName: string,
    opts: LiveRunOptions,
    runId: string | null = null,
  ) {
    this.#opts = opts;
    this.#runId = runId;
    this.#write = opts.write ?? ((t) => void process.stdout.write(t));
    for (const s of opts.steps)
      this.#lines.set(s, { step: s, status: 'pending', startedAt: null, durationMs: null, note: '' });
    const mine = (id: string): boolean => this.#runId === id;
    this.#offs.push(
      engine.registerEventHandler('workflow_started', (_, d) => {
        if (this.#runId === null && d.workflowName === workflowName) this.#setRunId(d.runId);
      }),
      engine.registerEventHandler('step_started', (_, d) => {
        if (mine(d.runId))
          this.#update(d.step, {
            status: 'running',
            startedAt: Date.now(),
            ...(d.items !== undefined ? { items: { ended: 0, total: d.items } } : {}),
          });
      }),
      engine.registerEventHandler('step_waiting', (_, d) => {
        if (!mine(d.runId)) return;
        const until = d.until !== null ? `until ${new Date(d.until).toISOString().slice(0, 19).replace('T', ' ')}` : '';
        this.#update(d.step, {
          status: 'waiting',
          startedAt: Date.now(),
          note: d.signal !== null ? `for signal "${d.signal}"${until ? ` ${until}` : ''}` : until,
        });
      }),
      ...ITEM_ENDS.map((name) =>
        engine.registerEventHandler(name, (_, d) => {
          // An item of a forEach step of this run: task `<runId>.<step>.<index>`.
          const id = this.#runId;
          if (id === null || !d.taskId.startsWith(`${id}.`)) return;
          const rest = d.taskId.slice(id.length + 1);
          const dot = rest.lastIndexOf('.');
          const line = dot > 0 ? this.#lines.get(rest.slice(0, dot)) : undefined;
          if (!line?.items || d.status === 'retrying') return;
          line.items.ended++;
          if (this.#opts.tty && !this.#opts.quiet) this.#draw();
        }),
      ),
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
    return this.onInterrupt(() => {
      if (!this.#opts.quiet && !this.#opts.tty) this.#write('interrupted: cancelling the run\n');
      void this.started()
        .then((id) => cancel(id))
        .catch(() => undefined);
    });
  }

  /** Ctrl-C: calls `react` once (the first time); returns the function that stops listening. */
  onInterrupt(react: () => void): () => void {
    const onSigint = (): void => {
      if (this.#interrupted) return;
      this.#interrupted = true;
      react();
    };
    process.on('SIGINT', onSigint);
    return () => process.off('SIGINT', onSigint);
  }

  /**
   * Starts from a run's current state (a watcher attaching to a run in progress): each step's status, and how long
   * it ran or has been running; steps an event already updated keep what the event said.
   */
  attach(run: WorkflowRun): void {
    for (const s of Object.values(run.steps)) {
      if (this.#fresh.has(s.step)) continue;
      const status = s.status === 'pending' || s.status === 'ready' ? 'waiting' : s.status;
      const line = {
        step: s.step,
        status,
        startedAt: s.startedAt,
        durationMs: status === 'running' ? null : s.durationMs,
        note: s.error?.message ?? '',
      };
      this.#lines.set(s.step, line);
      if (!this.#opts.quiet && !this.#opts.tty) this.#write(`${this.#plain(line)}\n`);
    }
    if (!this.#opts.quiet && this.#opts.tty) this.#draw();
  }

  /** One line for a pipe: `build completed in 1.2 s`, `test running for 3.0 s`, `deploy waiting`. */
  #plain(line: Line): string {
    const time =
      line.status === 'running'
        ? line.startedAt !== null
          ? ` for ${ms(Date.now() - line.startedAt)}`
          : ''
        : line.durationMs !== null
          ? ` in ${ms(line.durationMs)}`
          : '';
    return `${line.step} ${line.status}${time}${line.note ? `: ${line.note}` : ''}`;
  }

  #update(step: string, change: Partial<Line>): void {
    this.#fresh.add(step);
    const line = this.#lines.get(step) ?? { step, status: 'pending', startedAt: null, durationMs: null, note: '' };
    Object.assign(line, change);
    this.#lines.set(step, line);
    if (this.#opts.quiet) return;
    if (this.#opts.tty) this.#draw();
    else
      this.#write(
        `${line.step}${line.items ? ` ${line.items.ended}/${line.items.total}` : ''} ${line.status}${line.durationMs !== null && line.status !== 'running' ? ` in ${ms(line.durationMs)}` : ''}${line.note ? `: ${line.note}` : ''}\n`,
      );
  }

  #render(line: Line, width: number): string {
    const icon = line.status === 'running' ? FRAMES[this.#frame] : (ICON[line.status] ?? ' ');
    const elapsed =
      line.status === 'running' && line.startedAt !== null ? ms(Date.now() - line.startedAt) : ms(line.durationMs);
    const name = line.items ? `${line.step} ${line.items.ended}/${line.items.total}` : line.step;
    const text = `${icon} ${name.padEnd(width)}  ${line.status.padEnd(9)}  ${elapsed.padStart(8)}${line.note ? `  ${line.note}` : ''}`;
    const cols = outputWidth();
    return text.length > cols ? `${text.slice(0, cols - 1)}…` : text;
  }

  #draw(): void {
    const lines = [...this.#lines.values()];
    const width = Math.max(
      4,
      ...lines.map((l) => l.step.length + (l.items ? String(l.items.total).length * 2 + 2 : 0)),
    );
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
      if (held ? line.status !== 'waiting' || line.note !== note : line.status === 'waiting')
        this.#update(line.step, { status: held ? 'waiting' : 'running', note });
    }
  }

  /** Stops following; draws the last state. */
  finish(result?: WorkflowResult): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = null;
    for (const off of this.#offs.splice(0)) off();
    if (result)
      for (const s of Object.values(result.steps))
        this.#update0(s.step, s.status, s.durationMs, s.error?.message ?? '');
    if (!this.#opts.quiet && this.#opts.tty) this.#draw();
  }

  #update0(step: string, status: string, durationMs: number | null, note: string): void {
    const line = this.#lines.get(step);
    if (line) Object.assign(line, { status, durationMs, note: line.note || note });
  }
}
