/**
 * From user data to a Vega-Lite spec that a person can read: measures of different scales never share an axis
 * (several measures become panels with independent scales; a flat record of unrelated numbers is grouped by order of
 * magnitude), long or many labels turn bars horizontal, and labels get the room they need.
 */
import { NonRetryableError } from '../../errors.js';
import { didYouMean } from '../../model/validate.js';

export type ChartType = 'bar' | 'line' | 'pie' | 'scatter' | 'heatmap';
export type Row = Record<string, unknown>;

export interface ChartRequest {
  type: ChartType;
  data: unknown;
  x?: string | undefined;
  y?: string | string[] | undefined;
  /** Field for colour (series in line/scatter, cell value in heatmap). */
  color?: string | undefined;
  title: string;
  width?: number | undefined;
}

/** A Vega-Lite spec (top level), kept loose: vega-lite checks it. */
export type VlSpec = Record<string, unknown>;

export const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isRecord = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Rows from the accepted shapes: `[{...}]`, `{ label: number }`, `[[label, number]]`. */
export function toRows(data: unknown): { rows: Row[]; flat: boolean } {
  if (Array.isArray(data)) {
    if (data.length === 0) throw new NonRetryableError('data: empty; give at least one row');
    if (data.every((d) => Array.isArray(d) && d.length === 2)) {
      return {
        rows: (data as unknown[][]).map(([label, value], i) => {
          if (!isNum(value)) throw new NonRetryableError(`data[${i}][1]: ${JSON.stringify(value)} is not a number`);
          return { label: String(label), value };
        }),
        flat: true,
      };
    }
    data.forEach((d, i) => {
      if (!isRecord(d))
        throw new NonRetryableError(
          `data[${i}]: expected an object (a row such as { "name": "a", "value": 1 }), got ${JSON.stringify(d)?.slice(0, 80)}`,
        );
    });
    return { rows: data as Row[], flat: false };
  }
  if (isRecord(data)) {
    const entries = Object.entries(data);
    if (entries.length === 0) throw new NonRetryableError('data: empty; give at least one value');
    return {
      rows: entries.map(([label, value]) => {
        if (!isNum(value))
          throw new NonRetryableError(
            `data.${label}: ${JSON.stringify(value)?.slice(0, 80)} is not a number (a record maps labels to numbers; use an array of rows for anything else)`,
          );
        return { label, value };
      }),
      flat: true,
    };
  }
  throw new NonRetryableError(
    `data: expected an array of rows, a { label: number } record or [[label, number]] pairs, got ${data === null ? 'null' : typeof data}`,
  );
}

function fieldsOf(rows: Row[]): string[] {
  const keys = new Set<string>();
  for (const r of rows.slice(0, 200)) for (const k of Object.keys(r)) keys.add(k);
  return [...keys];
}

function checkField(rows: Row[], field: string, param: string, numeric: boolean): void {
  const fields = fieldsOf(rows);
  if (!fields.includes(field)) {
    const hint = didYouMean(field, fields);
    throw new NonRetryableError(
      `${param}: no field "${field}" in data${hint ? ` (did you mean "${hint}"?)` : ''}; fields: ${fields.join(', ')}`,
    );
  }
  if (!numeric) return;
  rows.forEach((r, i) => {
    const v = r[field];
    if (v !== undefined && v !== null && !isNum(v))
      throw new NonRetryableError(
        `data[${i}].${field}: ${JSON.stringify(v)?.slice(0, 60)} is not a number (${param} must name a numeric field)`,
      );
  });
}

/** Order-of-magnitude group of a value: values within one group share an axis. */
const magnitude = (v: number): number => (v === 0 ? 0 : Math.floor(Math.log10(Math.abs(v))));

const axisTitle = (s: string): string => s.replace(/_/g, ' ');

/** Picks x and the measures when not given: the first text field, and every numeric field but x. */
function pickFields(rows: Row[], req: ChartRequest): { x: string; ys: string[] } {
  const fields = fieldsOf(rows);
  const numeric = fields.filter((f) => rows.every((r) => r[f] === undefined || r[f] === null || isNum(r[f])));
  const x = req.x ?? fields.find((f) => !numeric.includes(f)) ?? fields[0];
  if (x === undefined) throw new NonRetryableError('data: rows have no fields');
  checkField(rows, x, 'x', req.type === 'scatter');
  const ys =
    req.y === undefined ? numeric.filter((f) => f !== x && f !== req.color) : Array.isArray(req.y) ? req.y : [req.y];
  if (ys.length === 0) throw new NonRetryableError(`y: data has no numeric field besides "${x}"; name one with "y"`);
  for (const y of ys) checkField(rows, y, 'y', req.type !== 'heatmap');
  return { x, ys };
}

/** One panel: a single measure `y` against `x`. */
function panel(
  type: ChartType,
  rows: Row[],
  x: string,
  y: string,
  color: string | undefined,
  width: number,
  flat = false,
): VlSpec {
  const horizontal = flat || rows.length > 12 || rows.some((r) => JSON.stringify(r[x] ?? '').length > 10);
  switch (type) {
    case 'bar': {
      // Horizontal bars come sorted by value (largest on top); `sort: null` keeps the data's order in both layers.
      const values = horizontal ? [...rows].sort((a, b) => ((b[y] as number) ?? 0) - ((a[y] as number) ?? 0)) : rows;
      const cat = {
        field: x,
        type: 'nominal',
        title: flat ? null : axisTitle(x),
        sort: null,
        axis: { labelLimit: 640 },
      };
      const val = { field: y, type: 'quantitative', title: flat ? null : axisTitle(y) };
      const enc = horizontal
        ? { y: cat, x: val }
        : { x: { ...cat, axis: { labelLimit: 640, labelAngle: rows.length > 6 ? -40 : 0 } }, y: val };
      const text = horizontal
        ? { x: val, y: cat, text: { field: y, type: 'quantitative', format: ',' } }
        : { x: enc.x, y: val, text: { field: y, type: 'quantitative', format: ',' } };
      return {
        data: { values },
        width: horizontal ? width : Math.max(width, rows.length * 28),
        height: horizontal ? { step: 20 } : 260,
        layer: [
          { mark: { type: 'bar', color: '#4e79a7' }, encoding: enc },
          {
            mark: horizontal ? { type: 'text', align: 'left', dx: 3 } : { type: 'text', baseline: 'bottom', dy: -2 },
            encoding: text,
          },
        ],
      };
    }
    case 'line': {
      const xType = rows.every((r) => isNum(r[x]))
        ? 'quantitative'
        : rows.every((r) => !Number.isNaN(Date.parse(String(r[x]))))
          ? 'temporal'
          : 'ordinal';
      return {
        data: { values: rows },
        width,
        height: 240,
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: x, type: xType, title: axisTitle(x) },
          y: { field: y, type: 'quantitative', title: axisTitle(y) },
          ...(color ? { color: { field: color, type: 'nominal' } } : {}),
        },
      };
    }
    case 'scatter':
      return {
        data: { values: rows },
        width,
        height: width * 0.75,
        mark: { type: 'point', filled: true, size: 60 },
        encoding: {
          x: { field: x, type: 'quantitative', title: axisTitle(x), scale: { zero: false } },
          y: { field: y, type: 'quantitative', title: axisTitle(y), scale: { zero: false } },
          ...(color ? { color: { field: color, type: 'nominal' } } : {}),
          tooltip: [{ field: x }, { field: y }],
        },
      };
    case 'pie':
      return {
        data: { values: rows },
        width: 300,
        height: 300,
        layer: [
          {
            mark: { type: 'arc', outerRadius: 120 },
            encoding: {
              theta: { field: y, type: 'quantitative', stack: true },
              color: { field: x, type: 'nominal', title: axisTitle(x), legend: { labelLimit: 640 } },
              order: { field: y, sort: 'descending' },
            },
          },
          {
            mark: { type: 'text', radius: 140 },
            encoding: {
              theta: { field: y, type: 'quantitative', stack: true },
              text: { field: y, type: 'quantitative', format: ',' },
              order: { field: y, sort: 'descending' },
            },
          },
        ],
      };
    case 'heatmap':
      return {
        data: { values: rows },
        width: { step: 36 },
        height: { step: 24 },
        layer: [
          {
            mark: 'rect',
            encoding: {
              x: { field: x, type: 'nominal', title: axisTitle(x), axis: { labelAngle: -40, labelLimit: 300 } },
              y: { field: y, type: 'nominal', title: axisTitle(y), axis: { labelLimit: 300 } },
              color: { field: color, type: 'quantitative', title: axisTitle(color ?? ''), scale: { scheme: 'blues' } },
            },
          },
          {
            mark: { type: 'text', fontSize: 10 },
            encoding: {
              x: { field: x, type: 'nominal' },
              y: { field: y, type: 'nominal' },
              text: { field: color, type: 'quantitative', format: ',' },
            },
          },
        ],
      };
  }
}

/** The Vega-Lite spec for a chart request. Throws a NonRetryableError naming the field for bad data. */
export function buildSpec(req: ChartRequest): { spec: VlSpec; rows: number; panels: number } {
  const { rows, flat } = toRows(req.data);
  const width = req.width ?? 480;
  const base = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: req.title, fontSize: 16 },
    config: { font: FONT, view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 } },
    background: 'white',
    padding: 12,
  };
  if (req.type === 'heatmap') {
    if (flat)
      throw new NonRetryableError(
        'data: a heatmap needs rows with two category fields and a value, e.g. [{ "x": "a", "y": "b", "value": 3 }]',
      );
    const x = req.x ?? fieldsOf(rows)[0];
    const y = typeof req.y === 'string' ? req.y : fieldsOf(rows)[1];
    const color = req.color ?? fieldsOf(rows).find((f) => f !== x && f !== y && rows.every((r) => isNum(r[f])));
    if (!x || !y || !color)
      throw new NonRetryableError('x, y, color: a heatmap needs x and y category fields and a numeric "color" field');
    checkField(rows, x, 'x', false);
    checkField(rows, y, 'y', false);
    checkField(rows, color, 'color', true);
    return { spec: { ...base, ...panel('heatmap', rows, x, y, color, width) }, rows: rows.length, panels: 1 };
  }
  if (flat) {
    // A record of numbers: unrelated measures (files, lines, bytes...). Group by order of magnitude, one panel each.
    const groups = new Map<number, Row[]>();
    for (const r of rows) {
      const g = magnitude(r['value'] as number);
      groups.set(g, [...(groups.get(g) ?? []), r]);
    }
    const ordered = [...groups.entries()].sort((a, b) => b[0] - a[0]);
    if (ordered.length === 1 || req.type === 'pie') {
      if (req.type === 'pie' && ordered.length > 1) {
        throw new NonRetryableError(
          'type: a pie compares parts of one whole, but these values differ by orders of magnitude; use a bar chart',
        );
      }
      return {
        spec: { ...base, ...panel(req.type, rows, 'label', 'value', undefined, width, true) },
        rows: rows.length,
        panels: 1,
      };
    }
    const panels = ordered.map(([, rs]) => ({
      ...panel(req.type === 'line' ? 'bar' : req.type, rs, 'label', 'value', undefined, width, true),
    }));
    return {
      spec: { ...base, vconcat: panels, resolve: { scale: { x: 'independent', y: 'independent' } } },
      rows: rows.length,
      panels: panels.length,
    };
  }
  const { x, ys } = pickFields(rows, req);
  if (req.color) checkField(rows, req.color, 'color', false);
  if (ys.length === 1)
    return {
      spec: { ...base, ...panel(req.type, rows, x, ys[0] as string, req.color, width) },
      rows: rows.length,
      panels: 1,
    };
  if (req.type === 'pie') throw new NonRetryableError(`y: a pie shows one measure; pick one of ${ys.join(', ')}`);
  // Several measures: one panel each, each with its own axis.
  const panels = ys.map((y) => ({ ...panel(req.type, rows, x, y, req.color, width), title: axisTitle(y) }));
  return {
    spec: { ...base, vconcat: panels, resolve: { scale: { x: 'independent', y: 'independent' } } },
    rows: rows.length,
    panels: panels.length,
  };
}
