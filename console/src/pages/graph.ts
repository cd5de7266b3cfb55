/**
 * A workflow's steps as a graph laid out by dagre (top to bottom, dependencies as edges), every step drawn whether it
 * has started or not, each coloured by its status. Names are SVG text nodes, never markup. A fan-out's branches
 * (steps sharing their upstream and downstream steps, 24 or more) are one box in the layout, drawn as a grid.
 */
import type { VNode } from '../vendor/preact.js';
import { useMemo } from '../vendor/hooks.js';
import dagre from '../vendor/dagre.js';
import { html } from '../ui.js';

export interface GraphStep {
  name: string;
  dependencies?: string[];
  /** A second line under the name (module.action, item counts). */
  detail?: string;
}

interface Box {
  name: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

interface Layout {
  width: number;
  height: number;
  nodes: Box[];
  /** Fan-outs drawn as one box holding a grid of their steps. */
  groups: { label: string; box: Box; cells: Box[] }[];
  edges: { from: string; to: string; points: { x: number; y: number }[] }[];
}

const NODE_W = 168;
const NODE_H = 40;
const GAP = 8;
/** Steps with the same upstream and downstream steps, past this many, are laid out as one group (a grid). */
const GROUP_MIN = 24;
const GROUP_COLS = 8;

/**
 * Groups the steps that share their dependencies and their dependents (a fan-out's branches): dagre then lays out
 * one box per group instead of thousands of side-by-side boxes (which would also take it seconds).
 */
function groupsOf(steps: GraphStep[]): Map<string, string[]> {
  const names = new Set(steps.map((s) => s.name));
  const dependents = new Map<string, string[]>();
  for (const s of steps)
    for (const d of s.dependencies ?? [])
      if (names.has(d)) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(s.name);
  const bySignature = new Map<string, string[]>();
  for (const s of steps) {
    const sig = `${[...(s.dependencies ?? [])]
      .filter((d) => names.has(d))
      .sort()
      .join(',')}|${[...(dependents.get(s.name) ?? [])].sort().join(',')}`;
    (bySignature.get(sig) ?? bySignature.set(sig, []).get(sig)!).push(s.name);
  }
  const out = new Map<string, string[]>();
  let n = 0;
  for (const members of bySignature.values()) if (members.length >= GROUP_MIN) out.set(`group:${n++}`, members);
  return out;
}

function layout(steps: GraphStep[]): Layout {
  const groups = groupsOf(steps);
  const groupOf = new Map<string, string>();
  for (const [g, members] of groups) for (const m of members) groupOf.set(m, g);
  const vertex = (name: string): string => groupOf.get(name) ?? name;
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 40, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  const names = new Set(steps.map((s) => s.name));
  for (const s of steps) if (!groupOf.has(s.name)) g.setNode(s.name, { width: NODE_W, height: NODE_H });
  for (const [id, members] of groups) {
    const cols = Math.min(GROUP_COLS, members.length);
    const rows = Math.ceil(members.length / cols);
    g.setNode(id, { width: cols * (NODE_W + GAP) + GAP, height: rows * (NODE_H + GAP) + GAP + 22 });
  }
  for (const s of steps)
    for (const d of s.dependencies ?? [])
      if (names.has(d) && vertex(d) !== vertex(s.name)) g.setEdge(vertex(d), vertex(s.name));
  dagre.layout(g);
  const graph = g.graph() as { width?: number; height?: number };
  const box = (name: string): Box => {
    const n = g.node(name) as { x: number; y: number; width: number; height: number };
    return { name, x: n.x - n.width / 2, y: n.y - n.height / 2, w: n.width, h: n.height };
  };
  return {
    width: graph.width ?? 0,
    height: graph.height ?? 0,
    nodes: steps.filter((s) => !groupOf.has(s.name)).map((s) => box(s.name)),
    groups: [...groups].map(([id, members]) => {
      const b = box(id);
      const cols = Math.min(GROUP_COLS, members.length);
      return {
        label: `${members.length} parallel steps`,
        box: b,
        cells: members.map((m, i) => ({
          name: m,
          x: b.x + GAP + (i % cols) * (NODE_W + GAP),
          y: b.y + 22 + GAP + Math.floor(i / cols) * (NODE_H + GAP),
          w: NODE_W,
          h: NODE_H,
        })),
      };
    }),
    edges: g.edges().map((e: { v: string; w: string }) => ({
      from: e.v,
      to: e.w,
      points: (g.edge(e) as { points: { x: number; y: number }[] }).points,
    })),
  };
}

export function Graph(props: {
  steps: GraphStep[];
  status: (name: string) => string;
  selected?: string | null;
  onSelect?: (name: string) => void;
}): VNode {
  const structure = props.steps.map((s) => `${s.name}<${(s.dependencies ?? []).join(',')}`).join(';');
  const l = useMemo(() => layout(props.steps), [structure]);
  const detail = new Map(props.steps.map((s) => [s.name, s.detail ?? '']));
  return html`<div class="graph-wrap" data-testid="graph">
    <svg class="graph" width=${l.width} height=${l.height} viewBox=${`0 0 ${l.width} ${l.height}`} role="img" aria-label="workflow graph">
      <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" /></marker></defs>
      ${l.edges.map((e) => html`<polyline key=${`${e.from}>${e.to}`} class="edge" points=${e.points.map((p) => `${p.x},${p.y}`).join(' ')} marker-end="url(#arrow)" />`)}
      ${l.groups.map((grp) => html`<g key=${grp.box.name} class="group"><rect x=${grp.box.x} y=${grp.box.y} width=${grp.box.w} height=${grp.box.h} rx="8" /><text x=${grp.box.x + 10} y=${grp.box.y + 16} class="detail">${grp.label}</text></g>`)}
      ${[...l.nodes, ...l.groups.flatMap((grp) => grp.cells)].map((n) => {
        const status = props.status(n.name);
        return html`<g key=${n.name} class=${`node s-${status}${props.selected === n.name ? ' selected' : ''}`} data-step=${n.name} data-status=${status} transform=${`translate(${n.x},${n.y})`} onClick=${() => props.onSelect?.(n.name)} tabindex="0" role="button" aria-label=${`${n.name}: ${status}`}>
          <rect width=${n.w} height=${n.h} rx="6" />
          <text x="10" y="16" class="name">${n.name.length > 22 ? `${n.name.slice(0, 21)}…` : n.name}</text>
          <text x="10" y="31" class="detail">${(detail.get(n.name) ?? '').slice(0, 26)}</text>
        </g>`;
      })}
    </svg>
  </div>`;
}
