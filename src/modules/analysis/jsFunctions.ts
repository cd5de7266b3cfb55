/**
 * Functions of a JavaScript/TypeScript file from a real parser (oxc-parser): for each, its cyclomatic complexity
 * (1 + decision points: if, ?:, loops, case, catch, &&, ||, ??, logical assignments; nested functions count for
 * themselves), its length in lines and its deepest nesting of control structures (an `else if` does not nest).
 */
import { lineOf, lineStarts } from './languages.js';

export interface FunctionReport {
  name: string;
  /** 1-based line of its start. */
  line: number;
  lines: number;
  complexity: number;
  nesting: number;
  params: number;
}

export interface ParsedJs {
  functions: FunctionReport[];
  /** Comment spans `[start, end)` (UTF-16 offsets), sorted. */
  comments: [number, number][];
  /** Decision points outside every function (module top level). */
  topLevelDecisions: number;
  /** The parser's first error, when the file does not parse (its comments and functions are still reported). */
  error: string | null;
}

interface Node {
  type: string;
  start: number;
  end: number;
  [key: string]: unknown;
}

export type ParseSync = (
  filename: string,
  text: string,
  options?: Record<string, unknown>,
) => {
  program: Node;
  comments: { type: string; value: string; start: number; end: number }[];
  errors: { message: string }[];
};

let parser: ParseSync | null = null;

/** Loads oxc-parser once, on first use (so workers that never analyse code do not pay for it). */
export async function loadParser(): Promise<ParseSync> {
  if (!parser) {
    const mod = (await import('oxc-parser')) as unknown as { parseSync: ParseSync };
    parser = mod.parseSync;
  }
  return parser;
}

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);
const NESTING_TYPES = new Set([
  'IfStatement',
  'ForStatement',
  'ForInStatement',
  'ForOfStatement',
  'WhileStatement',
  'DoWhileStatement',
  'SwitchStatement',
  'TryStatement',
]);
const LOGICAL_ASSIGN = new Set(['&&=', '||=', '??=']);
const SKIP_KEYS = new Set([
  'type',
  'start',
  'end',
  'range',
  'loc',
  'parent',
  'typeAnnotation',
  'returnType',
  'typeParameters',
  'decorators',
]);

function decisions(node: Node): number {
  switch (node.type) {
    case 'IfStatement':
    case 'ConditionalExpression':
    case 'ForStatement':
    case 'ForInStatement':
    case 'ForOfStatement':
    case 'WhileStatement':
    case 'DoWhileStatement':
    case 'CatchClause':
      return 1;
    case 'SwitchCase':
      return node['test'] ? 1 : 0;
    case 'LogicalExpression':
      return 1;
    case 'AssignmentExpression':
      return LOGICAL_ASSIGN.has(node['operator'] as string) ? 1 : 0;
    default:
      return 0;
  }
}

function keyName(key: unknown): string | null {
  const k = key as Node | undefined;
  if (!k) return null;
  if (k.type === 'Identifier' || k.type === 'PrivateIdentifier') return (k['name'] as string) ?? null;
  if (k.type === 'Literal') return String(k['value']);
  return null;
}

/** A function's name from where it stands: its id, the variable, property or method it is assigned to. */
function nameOf(fn: Node, parent: Node | null): string {
  const id = keyName(fn['id']);
  if (id) return id;
  if (!parent) return '<anonymous>';
  switch (parent.type) {
    case 'VariableDeclarator':
      return keyName(parent['id']) ?? '<anonymous>';
    case 'MethodDefinition':
    case 'Property':
    case 'PropertyDefinition':
      return keyName(parent['key']) ?? '<computed>';
    case 'AssignmentExpression': {
      const left = parent['left'] as Node;
      if (left.type === 'MemberExpression') return keyName(left['property']) ?? '<anonymous>';
      return keyName(left) ?? '<anonymous>';
    }
    case 'CallExpression': {
      // A callback: name it by the call, e.g. `describe('x') callback`, `items.map callback`.
      const callee = parent['callee'] as Node;
      const name =
        callee.type === 'MemberExpression'
          ? `${keyName(callee['object']) ?? '…'}.${keyName(callee['property']) ?? '…'}`
          : keyName(callee);
      const first = (parent['arguments'] as Node[])[0];
      const label =
        first && first.type === 'Literal' && typeof first['value'] === 'string'
          ? `(${JSON.stringify(first['value'].slice(0, 40))})`
          : '';
      return name ? `${name}${label} callback` : '<anonymous>';
    }
    default:
      return '<anonymous>';
  }
}

interface Frame {
  node: Node;
  parent: Node | null;
  fn: FunctionReport | null;
  depth: number;
}

/** Parses one file and measures its functions. Iterative (an explicit stack), so deep expressions cannot overflow. */
export function analyzeJs(parse: ParseSync, fileName: string, text: string): ParsedJs {
  const result = parse(fileName, text);
  const starts = lineStarts(text);
  const functions: FunctionReport[] = [];
  let topLevelDecisions = 0;
  const stack: Frame[] = [{ node: result.program, parent: null, fn: null, depth: 0 }];
  while (stack.length > 0) {
    const { node, parent, fn: outerFn, depth: outerDepth } = stack.pop() as Frame;
    let fn = outerFn;
    let depth = outerDepth;
    if (FUNCTION_TYPES.has(node.type)) {
      const first = lineOf(starts, node.start);
      fn = {
        name: nameOf(node, parent),
        line: first,
        lines: lineOf(starts, Math.max(node.start, node.end - 1)) - first + 1,
        complexity: 1,
        nesting: 0,
        params: Array.isArray(node['params']) ? node['params'].length : 0,
      };
      functions.push(fn);
      depth = 0;
    } else {
      const d = decisions(node);
      if (fn) fn.complexity += d;
      else topLevelDecisions += d;
      if (NESTING_TYPES.has(node.type)) {
        depth++;
        if (fn && depth > fn.nesting) fn.nesting = depth;
      }
    }
    // Children in reverse so they pop in source order.
    const children: Frame[] = [];
    for (const key in node) {
      if (SKIP_KEYS.has(key)) continue;
      const value = node[key];
      if (value === null || typeof value !== 'object') continue;
      // `else if`: the inner if stays at its parent's depth.
      const childDepth =
        key === 'alternate' && node.type === 'IfStatement' && (value as Node).type === 'IfStatement'
          ? depth - 1
          : depth;
      if (Array.isArray(value)) {
        for (const v of value as unknown[])
          if (v && typeof v === 'object' && typeof (v as Node).type === 'string')
            children.push({ node: v as Node, parent: node, fn, depth: childDepth });
      } else if (typeof (value as Node).type === 'string') {
        children.push({ node: value as Node, parent: node, fn, depth: childDepth });
      }
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as Frame);
  }
  functions.sort((a, b) => a.line - b.line);
  const comments = result.comments.map((c): [number, number] => [c.start, c.end]).sort((a, b) => a[0] - b[0]);
  return { functions, comments, topLevelDecisions, error: result.errors[0]?.message ?? null };
}
