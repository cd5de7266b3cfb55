/**
 * A workflow's steps as a graph laid out by dagre (top to bottom, dependencies as edges), every step drawn whether it
 * has started or not, each coloured by its status. Names are SVG text nodes, never markup.
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

interface Layout {
  width: number;
  height: number;
  nodes: { name: string; x: number; y: number; w: number; h: number }[];
  edges: { from: string; to: string; points: { x: number; y: number }[] }[];
}

const NODE_W = 168;
const NODE_H = 40;

function layout(steps: GraphStep[]): Layout {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 40, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  const names = new Set(steps.map((s) => s.name));
  for (const s of steps) g.setNode(s.name, { width: NODE_W, height: NODE_H });
  for (const s of steps) for (const d of s.dependencies ?? []) if (names.has(d)) g.setEdge(d, s.name);
  dagre.layout(g);
  const graph = g.graph() as { width?: number; height?: number };
  return {
    width: graph.width ?? 0,
    height: graph.height ?? 0,
    nodes: steps.map((s) => {
      const n = g.node(s.name) as { x: number; y: number; width: number; height: number };
      return { name: s.name, x: n.x - n.width / 2, y: n.y - n.height / 2, w: n.width, h: n.height };
    }),
    edges: g.edges().map((e: { v: string; w: string }) => ({ from: e.v, to: e.w, points: (g.edge(e) as { points: { x: number; y: number }[] }).points })),
  };
}

export function Graph(props: { steps: GraphStep[]; status: (name: string) => string; selected?: string | null; onSelect?: (name: string) => void }): VNode {
  const structure = props.steps.map((s) => `${s.name}<${(s.dependencies ?? []).join(',')}`).join(';');
  const l = useMemo(() => layout(props.steps), [structure]);
  const detail = new Map(props.steps.map((s) => [s.name, s.detail ?? '']));
  return html`<div class="graph-wrap" data-testid="graph">
    <svg class="graph" width=${l.width} height=${l.height} viewBox=${`0 0 ${l.width} ${l.height}`} role="img" aria-label="workflow graph">
      <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" /></marker></defs>
      ${l.edges.map((e) => html`<polyline key=${`${e.from}>${e.to}`} class="edge" points=${e.points.map((p) => `${p.x},${p.y}`).join(' ')} marker-end="url(#arrow)" />`)}
      ${l.nodes.map((n) => {
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
