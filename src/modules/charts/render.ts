/**
 * Renders a Vega-Lite spec to SVG (Vega-Lite compiles it, Vega renders it headless) and SVG to PNG (resvg, no
 * browser). The libraries load on first use, so workers that never chart do not pay for them.
 */
import type { VlSpec } from './spec.js';

interface VegaLib {
  parse(spec: unknown): unknown;
  View: new (runtime: unknown, options: { renderer: 'none' }) => { toSVG(): Promise<string>; finalize(): void };
}
interface ResvgCtor {
  new (svg: string, options: Record<string, unknown>): { render(): { asPng(): Buffer; width: number; height: number } };
}

type Compile = (spec: VlSpec, options: { logger: Logger }) => { spec: unknown };
interface Logger {
  level(): number;
  level(l: number): Logger;
  error(...args: unknown[]): Logger;
  warn(...args: unknown[]): Logger;
  info(...args: unknown[]): Logger;
  debug(...args: unknown[]): Logger;
}

let libs: Promise<{ vega: VegaLib; compile: Compile }> | null = null;

function load(): Promise<{ vega: VegaLib; compile: Compile }> {
  libs ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vl]) => ({
    vega: vega as unknown as VegaLib,
    compile: (vl as unknown as { compile: Compile }).compile,
  }));
  return libs;
}

/** A logger that keeps Vega-Lite's warnings (returned with the chart) instead of printing them in the worker. */
function collecting(into: string[]): Logger {
  const logger: Logger = {
    level: ((l?: number) => (l === undefined ? 2 : logger)) as Logger['level'],
    error: (...args) => {
      into.push(args.map(String).join(' '));
      return logger;
    },
    warn: (...args) => {
      into.push(args.map(String).join(' '));
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  return logger;
}

/** The SVG document of a Vega-Lite spec, and the warnings compiling it gave. */
export async function renderSvg(spec: VlSpec): Promise<{ svg: string; warnings: string[] }> {
  const { vega, compile } = await load();
  const warnings: string[] = [];
  const view = new vega.View(vega.parse(compile(spec, { logger: collecting(warnings) }).spec), { renderer: 'none' });
  try {
    return { svg: await view.toSVG(), warnings };
  } finally {
    view.finalize();
  }
}

/** A PNG of an SVG, at `scale` times its size, with the system's fonts. */
export async function renderPng(svg: string, scale = 2): Promise<{ png: Buffer; width: number; height: number }> {
  const { Resvg } = (await import('@resvg/resvg-js')) as unknown as { Resvg: ResvgCtor };
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  }).render();
  return { png: r.asPng(), width: r.width, height: r.height };
}
