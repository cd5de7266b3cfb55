/**
 * The architecture, checked: every import in `src` points down the layers of DESIGN.md §2, no file imports itself
 * back through a circle, and no folder imports a sibling folder that imports it back (directly or through other
 * siblings). Reads the import statements of every source file (static, re-exports, dynamic, type-only).
 *
 * The bus is drawn between edges and actors because commands flow edge → bus → actor; in imports it is the contract
 * both sides share, so the actors may import it and it imports nothing of theirs. Metrics sits above workers and
 * store: it observes them (the pool's state at scrape time, every store commit timed), so it imports them and they
 * know nothing of it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Higher layers may import lower ones (and their own); never the reverse. */
const LAYERS: [rank: number, name: string, match: (path: string) => boolean][] = [
  [10, 'edges', (p) => p.startsWith('edges/') || p === 'index.ts'],
  [9, 'actors', (p) => p.startsWith('actors/')],
  [8, 'bus', (p) => p.startsWith('bus/')],
  [7, 'machines', (p) => p.startsWith('machines/')],
  [6, 'metrics', (p) => p.startsWith('metrics/')],
  [5, 'workers', (p) => p.startsWith('workers/')],
  [4, 'store', (p) => p.startsWith('store/')],
  [3, 'modules/traces/workflows/projects', (p) => /^(modules|traces|workflows|projects)\//.test(p)],
  [2, 'model', (p) => /^(model|dag|config)\//.test(p)],
  [1, 'errors', (p) => p === 'errors.ts' || p === 'rebuildError.ts'],
];

/** A file → the files it imports, as paths relative to src. */
type ImportGraph = Map<string, string[]>;

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

/** Every import that points up the layers (or at a file that is not there), as a sentence. */
function upwardImports(graph: ImportGraph): string[] {
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
  return upward;
}

/** Strongly connected components with more than one node (or a node pointing at itself): Tarjan's algorithm. */
function stronglyConnected(edges: ReadonlyMap<string, Iterable<string>>): string[][] {
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
    let self = false;
    for (const w of edges.get(v) ?? []) {
      if (w === v) self = true;
      if (!edges.has(w)) continue;
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
      if (scc.length > 1 || self) out.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** Files that import themselves back through a circle. */
function circles(graph: ImportGraph): string[] {
  return stronglyConnected(graph).map((c) => c.join(' <-> '));
}

/**
 * Sibling folders that import each other, directly or through a circle of siblings (`edges/cli -> edges/daemon ->
 * edges/cli`). An import from `a/x/…/f.ts` to `a/y/…/g.ts` makes `a/x` depend on `a/y`; files directly inside the
 * folder two files share are not folders, and do not count.
 */
function folderLoops(graph: ImportGraph): string[] {
  const edges = new Map<string, Set<string>>();
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const a = from.split('/');
      const b = to.split('/');
      let i = 0;
      while (i < a.length - 1 && i < b.length - 1 && a[i] === b[i]) i++;
      if (i === a.length - 1 || i === b.length - 1) continue;
      const fa = a.slice(0, i + 1).join('/');
      const fb = b.slice(0, i + 1).join('/');
      if (!edges.has(fa)) edges.set(fa, new Set());
      if (!edges.has(fb)) edges.set(fb, new Set());
      edges.get(fa)!.add(fb);
    }
  }
  return stronglyConnected(edges).map((c) => c.join(' <-> '));
}

const files = sourceFiles(SRC);
const graph: ImportGraph = new Map(files.map((f) => [f, importsOf(f)]));

describe('architecture', () => {
  it('finds the source files and their imports', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(graph.get('index.ts')?.length).toBeGreaterThan(10);
  });

  it('every file is in a layer, and every import points down (or stays in its layer)', () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it('has no import circles', () => {
    expect(circles(graph)).toEqual([]);
  });

  it('has no sibling folders that import each other, directly or through other siblings', () => {
    expect(folderLoops(graph)).toEqual([]);
  });

  it('the layer check sees an upward import and a circle when there is one', () => {
    // Guards the guard: a fake model file importing an actor, and two files importing each other.
    const planted: ImportGraph = new Map([
      ['model/__fake.ts', ['actors/engine/engine.ts']],
      ['actors/engine/engine.ts', []],
      ['model/__a.ts', ['model/__b.ts']],
      ['model/__b.ts', ['model/__a.ts']],
    ]);
    expect(upwardImports(planted)).toEqual([
      'src/model/__fake.ts (model) imports src/actors/engine/engine.ts (actors): an upward import',
    ]);
    expect(circles(planted)).toEqual(['model/__a.ts <-> model/__b.ts']);
  });

  it('ranks metrics over workers over store: an import the other way is upward', () => {
    const planted: ImportGraph = new Map([
      ['store/__fake.ts', ['workers/pool.ts', 'metrics/engineMetrics.ts']],
      ['workers/__fake.ts', ['metrics/engineMetrics.ts', 'store/store.ts']],
      ['metrics/engineMetrics.ts', ['workers/pool.ts', 'store/store.ts']],
      ['workers/pool.ts', []],
      ['store/store.ts', []],
    ]);
    expect(upwardImports(planted)).toEqual([
      'src/store/__fake.ts (store) imports src/workers/pool.ts (workers): an upward import',
      'src/store/__fake.ts (store) imports src/metrics/engineMetrics.ts (metrics): an upward import',
      'src/workers/__fake.ts (workers) imports src/metrics/engineMetrics.ts (metrics): an upward import',
    ]);
  });

  it('the folder check sees sibling folders in a loop, directly or through a third, and nothing in one-way imports', () => {
    // Two edges folders importing each other (no file circle: the files differ).
    const pair: ImportGraph = new Map([
      ['edges/cli/program.ts', ['edges/worker/command.ts']],
      ['edges/worker/command.ts', ['edges/cli/format.ts']],
      ['edges/cli/format.ts', []],
    ]);
    expect(circles(pair)).toEqual([]);
    expect(folderLoops(pair)).toEqual(['edges/cli <-> edges/worker']);
    // Three siblings in a ring, at any depth of the files inside them.
    const ring: ImportGraph = new Map([
      ['actors/x/one.ts', ['actors/y/deep/two.ts']],
      ['actors/y/deep/two.ts', ['actors/z/three.ts']],
      ['actors/z/three.ts', ['actors/x/four.ts']],
      ['actors/x/four.ts', []],
    ]);
    expect(folderLoops(ring)).toEqual(['actors/x <-> actors/y <-> actors/z']);
    // One-way imports between siblings, and files of a folder importing its subfolders and back, are no loop.
    const oneWay: ImportGraph = new Map([
      ['actors/x/one.ts', ['actors/y/two.ts', 'actors/deps.ts']],
      ['actors/y/two.ts', ['actors/deps.ts']],
      ['actors/deps.ts', ['actors/y/three.ts']],
      ['actors/y/three.ts', []],
    ]);
    expect(folderLoops(oneWay)).toEqual([]);
  });
});
