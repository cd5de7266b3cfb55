/**
 * Reads the repository's Markdown as the docs tests need it: which files are documentation, their headings' anchors
 * (as GitHub makes them), their relative links, and their fenced code blocks with the info string and line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import GithubSlugger from 'github-slugger';
import { packagePath } from '../../src/config/options.js';

/** The documentation: the README, every page under docs/, and the benchmarks' README (paths relative to the root). */
export function docFiles(): string[] {
  const root = packagePath();
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
    );
  return ['README.md', 'benchmarks/README.md', ...walk(packagePath('docs')).map((f) => relative(root, f))].sort();
}

export function readDoc(file: string): string {
  return readFileSync(packagePath(file), 'utf8');
}

/** One fenced code block: its info string (`bash`, `sh run`, ...), its text, and the line its fence opens on. */
export interface CodeBlock {
  file: string;
  line: number;
  info: string;
  text: string;
}

/** Fenced blocks (``` or ~~~ at the start of a line), in order. */
export function codeBlocks(file: string, text = readDoc(file)): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,}|~{3,})(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !(lines[j]!.startsWith(fence) && lines[j]!.trim() === fence)) body.push(lines[j++]!);
    blocks.push({ file, line: i + 1, info: open[2]!.trim(), text: body.join('\n') });
    i = j;
  }
  return blocks;
}

/** The text outside fenced code blocks, blocks blanked line for line (so `# comment` in a shell block is no heading). */
export function prose(text: string): string {
  return text.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, (block) => block.replace(/[^\n]/g, ''));
}

/** The anchors GitHub gives the file's headings (`## Durability` -> `durability`, repeats get `-1`, `-2`). */
export function anchors(text: string): Set<string> {
  const slugger = new GithubSlugger();
  const out = new Set<string>();
  for (const m of prose(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    // GitHub slugs the rendered text: markup such as backticks and link targets is not part of it.
    const rendered = m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
    out.add(slugger.slug(rendered));
  }
  return out;
}

/** Relative links of the prose (`[text](path#anchor)`, `![alt](path)`), with the line they are on. */
export function relativeLinks(text: string): { target: string; line: number }[] {
  const out: { target: string; line: number }[] = [];
  prose(text)
    .split('\n')
    .forEach((l, i) => {
      for (const m of l.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1]!;
        if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) out.push({ target, line: i + 1 });
      }
    });
  return out;
}
