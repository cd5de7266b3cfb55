/**
 * The architecture, checked: every import in `src` points down the layers of DESIGN.md §2 and no file imports
 * itself back through a circle. Reads the import statements of every source file (static, re-exports, dynamic).
 *
 * The bus is drawn between edges and actors because commands flow edge → bus → actor; in imports it is the contract
 * both sides share, so the actors may import it and it imports nothing of theirs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Higher layers may import lower ones (and their own); never the reverse. */
const LAYERS: [rank: number, name: string, match: (path: string) => boolean][] = [
  [7, 'edges', (p) => p.startsWith('edges/') || p === 'index.ts'],
  [6, 'actors', (p) => p.startsWith('actors/')],
  [5, 'bus', (p) => p.startsWith('bus/')],
  [4, 'machines', (p) => p.startsWith('machines/')],
  [3, 'workers/store/metrics', (p) => /^(workers|store|metrics|traces|modules|workflows|projects)\//.test(p)],
  [2, 'model', (p) => /^(model|dag|config)\//.test(p)],
  [1, 'errors', (p) => p === 'errors.ts'],
];

function layerOf(path: string): { rank: number; name: string } {
  const hit = LAYERS.find(([, , match]) => match(path));
  if (!hit) throw new Error(`src/${path} is in no layer: put it in a layer's folder or add its folder to LAYERS`);
  return { rank: hit[0], name: hit[1] };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [relative(SRC, full)] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g;

/** The project files one file imports, as paths relative to src. */
function importsOf(path: string): string[] {
  const text = readFileSync(join(SRC, path), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (!spec?.startsWith('.')) continue;
    out.push(relative(SRC, resolve(SRC, dirname(path), spec)).replace(/\.js$/, '.ts'));
  }
  return out;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

/** Strongly connected components with more than one file (or a file importing itself): Tarjan's algorithm. */
function circles(): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)?.includes(v)) out.push(scc.sort());
    }
  };
  for (const f of files) if (!idx.has(f)) visit(f);
  return out;
}

describe('architecture', () => {
  it('finds the source files and their imports', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(graph.get('index.ts')?.length).toBeGreaterThan(10);
  });

  it('every file is in a layer, and every import points down (or stays in its layer)', () => {
    const upward: string[] = [];
    for (const [from, targets] of graph) {
      const a = layerOf(from);
      for (const to of targets) {
        if (!graph.has(to)) {
          upward.push(`src/${from} imports src/${to}, which does not exist`);
          continue;
        }
        const b = layerOf(to);
        if (b.rank > a.rank) upward.push(`src/${from} (${a.name}) imports src/${to} (${b.name}): an upward import`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no import circles', () => {
    expect(circles().map((c) => c.join(' <-> '))).toEqual([]);
  });

  it('the layer check sees an upward import and a circle when there is one', () => {
    // Guards the guard: a fake model file importing an actor, and two files importing each other.
    graph.set('model/__fake.ts', ['actors/engine/engine.ts']);
    graph.set('model/__a.ts', ['model/__b.ts']);
    graph.set('model/__b.ts', ['model/__a.ts']);
    files.push('model/__fake.ts', 'model/__a.ts', 'model/__b.ts');
    try {
      expect(layerOf('actors/engine/engine.ts').rank).toBeGreaterThan(layerOf('model/__fake.ts').rank);
      expect(circles().map((c) => c.join(' <-> '))).toContain('model/__a.ts <-> model/__b.ts');
    } finally {
      for (const f of ['model/__fake.ts', 'model/__a.ts', 'model/__b.ts']) {
        graph.delete(f);
        files.splice(files.indexOf(f), 1);
      }
    }
  });
});
