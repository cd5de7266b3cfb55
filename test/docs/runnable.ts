/**
 * The runnable blocks of the documentation (the convention is in docs/architecture.md, "Docs that run"):
 * ` ```sh run ` (or `bash run`) is a shell script, ` ```ts run ` (or `js run`) a program run with Node (and type-checked),
 * ` ```yaml file=NAME ` (any language) is a file the page's later blocks use, and ` ```text output ` right after a
 * run block is what that block prints (compared loosely: times, ids and column padding may differ; `...` stands for
 * anything on its line). `nats` on a run
 * block gives the page a nats-server: `nats://127.0.0.1:4222` in the block is that server, a `nats-server` line is
 * skipped, and a `codomyrmex daemon` or `codomyrmex worker` line runs in the background until the page ends.
 */
import { codeBlocks, docFiles } from './markdown.js';

export type RunLanguage = 'sh' | 'ts' | 'js';

export type Step =
  | { kind: 'file'; line: number; name: string; text: string }
  | { kind: 'run'; line: number; language: RunLanguage; script: string; nats: boolean; expect?: string };

export interface RunnablePage {
  file: string;
  steps: Step[];
  /** Whether a block of the page asks for a nats-server. */
  nats: boolean;
}

const LANGUAGES: Record<string, RunLanguage> = {
  sh: 'sh',
  bash: 'sh',
  ts: 'ts',
  typescript: 'ts',
  js: 'js',
  javascript: 'js',
};

/** Every page with at least one runnable block, its steps in order. */
export function runnablePages(): RunnablePage[] {
  const pages: RunnablePage[] = [];
  for (const file of docFiles()) {
    const steps: Step[] = [];
    for (const block of codeBlocks(file)) {
      const words = block.info.split(/\s+/);
      const name = words.find((w) => w.startsWith('file='))?.slice('file='.length);
      const language = LANGUAGES[words[0] ?? ''];
      if (name) steps.push({ kind: 'file', line: block.line, name, text: block.text });
      else if (language && words.includes('run')) {
        // `npx codomyrmex` in the docs is the installed package; here it is the built CLI on PATH.
        const script = language === 'sh' ? block.text.replace(/\bnpx codomyrmex\b/g, 'codomyrmex') : block.text;
        steps.push({ kind: 'run', line: block.line, language, script, nats: words.includes('nats') });
      } else if (words.includes('output')) {
        const last = steps.at(-1);
        if (last?.kind !== 'run') throw new Error(`${file}:${block.line}: an output block must follow a run block`);
        last.expect = block.text;
      }
    }
    if (steps.length > 0) pages.push({ file, steps, nats: steps.some((s) => s.kind === 'run' && s.nats) });
  }
  return pages;
}

/** The address a `nats` block writes for its server. */
export const DOC_NATS_URL = 'nats://127.0.0.1:4222';

/** A piece of a shell block: lines run in order, or one long-running command started in the background. */
export type ShellPart = { kind: 'script'; text: string } | { kind: 'background'; command: string; ready: RegExp };

/**
 * A `nats` shell block as the test runs it: its server's URL in place of {@link DOC_NATS_URL}, `nats-server` lines
 * dropped, and each `codomyrmex daemon` / `codomyrmex worker` line a background part with the log line that says
 * it is ready.
 */
export function shellParts(script: string, natsUrl: string | null): ShellPart[] {
  const parts: ShellPart[] = [];
  let lines: string[] = [];
  const flush = (): void => {
    if (lines.some((l) => l.trim() !== '' && !l.trim().startsWith('#')))
      parts.push({ kind: 'script', text: lines.join('\n') });
    lines = [];
  };
  for (const raw of script.split('\n')) {
    const line = natsUrl === null ? raw : raw.replaceAll(DOC_NATS_URL, natsUrl);
    const command = line.replace(/\s+#.*$/, '').replace(/\s*&\s*$/, '');
    if (natsUrl !== null && /^\s*nats-server\b/.test(command)) continue;
    const daemon = natsUrl !== null && /^\s*codomyrmex\b.*\sdaemon\b/.test(command);
    const worker = natsUrl !== null && /^\s*codomyrmex\b.*\sworker\b/.test(command);
    if (daemon || worker) {
      flush();
      const ready = worker
        ? /"msg":"worker ready"/
        : /--remote-workers|--no-local-workers/.test(command)
          ? /"msg":"remote workers: serving/
          : /"msg":"NATS connected; serving commands"/;
      parts.push({ kind: 'background', command, ready });
    } else lines.push(line);
  }
  flush();
  return parts;
}

/** Whether `printed` shows what the docs show: normalized, `shown` is a part of it, each `...` matching anything on its line. */
export function showsOutput(shown: string, printed: string): boolean {
  const pattern = normalizeOutput(shown)
    .split('...')
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^\n]*?');
  return new RegExp(pattern).test(normalizeOutput(printed));
}

/** Output as compared: ids and durations as placeholders, runs of spaces and of dashes folded, blank ends trimmed. */
export function normalizeOutput(text: string): string {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')
    .replace(/\b\d+(?:\.\d+)? ?(?:ms|s|min)\b/g, '<time>')
    .split('\n')
    .map((l) => l.replace(/-{2,}/g, '--').replace(/\s+/g, ' ').trim())
    .join('\n')
    .trim();
}
