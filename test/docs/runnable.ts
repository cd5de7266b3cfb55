/**
 * The runnable blocks of the documentation (the convention is in docs/architecture.md, "Docs that run"):
 * ` ```sh run ` (or `bash run`) is a shell script, ` ```yaml file=NAME ` (any language) is a file the page's later
 * blocks use, and ` ```text output ` right after a run block is what that block prints (compared loosely:
 * times, ids and column padding may differ).
 */
import { codeBlocks, docFiles } from './markdown.js';

export type Step =
  | { kind: 'file'; line: number; name: string; text: string }
  | { kind: 'run'; line: number; script: string; expect?: string };

export interface RunnablePage {
  file: string;
  steps: Step[];
}

/** Every page with at least one runnable block, its steps in order. */
export function runnablePages(): RunnablePage[] {
  const pages: RunnablePage[] = [];
  for (const file of docFiles()) {
    const steps: Step[] = [];
    for (const block of codeBlocks(file)) {
      const words = block.info.split(/\s+/);
      const name = words.find((w) => w.startsWith('file='))?.slice('file='.length);
      if (name) steps.push({ kind: 'file', line: block.line, name, text: block.text });
      else if ((words[0] === 'sh' || words[0] === 'bash') && words.includes('run')) {
        // `npx codomyrmex` in the docs is the installed package; here it is the built CLI on PATH.
        steps.push({ kind: 'run', line: block.line, script: block.text.replace(/\bnpx codomyrmex\b/g, 'codomyrmex') });
      } else if (words.includes('output')) {
        const last = steps.at(-1);
        if (last?.kind !== 'run') throw new Error(`${file}:${block.line}: an output block must follow a \`sh run\` block`);
        last.expect = block.text;
      }
    }
    if (steps.length > 0) pages.push({ file, steps });
  }
  return pages;
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
