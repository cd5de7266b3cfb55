/**
 * The console's files: the page (`console/index.html`, the same for every console URL so links such as
 * `/runs/RUN_ID` can be shared), its stylesheet, its scripts (compiled from `console/src/*.ts` by the package's
 * own build into `dist/console/`), and the libraries it imports, served from this package's `node_modules` (no
 * CDN, no bundler). Read once and kept in memory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { packagePath } from '../../config/options.js';

export interface Asset {
  type: string;
  body: Buffer;
}

const require = createRequire(import.meta.url);

/** A file inside an installed package: its folder is found from its entry point, whatever its `exports` say. */
function packageFile(pkg: string, file: string): string {
  let dir = dirname(require.resolve(pkg));
  while (
    !existsSync(join(dir, 'package.json')) ||
    (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name !== pkg
  ) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the folder of the package ${pkg}`);
    dir = up;
  }
  return join(dir, file);
}

/** The libraries the console imports, by the name its scripts use (`./vendor/NAME.js`). */
const VENDOR: Record<string, () => string> = {
  'preact.js': () => readFileSync(packageFile('preact', 'dist/preact.mjs'), 'utf8'),
  // The hooks import "preact" by its bare name, which a browser cannot resolve without an import map (an inline
  // script, which the CSP forbids): point it at the file beside it.
  'hooks.js': () =>
    readFileSync(packageFile('preact', 'hooks/dist/hooks.mjs'), 'utf8').replace(
      /from\s*"preact"/g,
      'from"./preact.js"',
    ),
  'htm.js': () => readFileSync(packageFile('htm', 'dist/htm.module.js'), 'utf8'),
  'dagre.js': () => readFileSync(packageFile('@dagrejs/dagre', 'dist/dagre.esm.js'), 'utf8'),
};

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The console's assets, loaded on first use. */
export class ConsoleAssets {
  readonly #cache = new Map<string, Asset | null>();

  /** The page every console URL answers with. */
  page(): Asset {
    const page = this.#load('index.html', () => readFileSync(packagePath('console', 'index.html')));
    if (!page) throw new Error('console/index.html is missing');
    return page;
  }

  /** `/assets/<path>`, or null when there is no such file. */
  asset(path: string): Asset | null {
    if (!/^[\w-]+(\/[\w-]+)*\.(js|css|svg)$/.test(path)) return null;
    return this.#load(path, () => {
      if (path.startsWith('vendor/')) {
        const load = VENDOR[path.slice('vendor/'.length)];
        return load ? Buffer.from(load()) : null;
      }
      if (path.endsWith('.css') || path.endsWith('.svg')) return readFileSync(packagePath('console', path));
      return readFileSync(packagePath('dist', 'console', path));
    });
  }

  #load(path: string, read: () => Buffer | null): Asset | null {
    if (this.#cache.has(path)) return this.#cache.get(path)!;
    let body: Buffer | null;
    try {
      body = read();
    } catch {
      body = null;
    }
    const ext = path.slice(path.lastIndexOf('.'));
    const asset = body ? { type: TYPES[ext] ?? 'application/octet-stream', body } : null;
    this.#cache.set(path, asset);
    return asset;
  }
}
