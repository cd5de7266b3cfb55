/**
 * Exports of a JavaScript/TypeScript file (oxc-parser), each with the first sentence of its doc comment, and the
 * file's own summary (its leading comment).
 */
import { loadParser } from '../analysis/jsFunctions.js';

export interface ExportInfo {
  name: string;
  kind: string;
  summary: string;
}

interface Node {
  type: string;
  start: number;
  end: number;
  [key: string]: unknown;
}

const firstSentence = (comment: string): string => {
  const text = comment
    .replace(/^\/\*\*?|\*\/$/g, '')
    .split('\n')
    .map((l) =>
      l
        .replace(/^\s*\*\s?/, '')
        .replace(/^\s*\/\/\s?/, '')
        .trim(),
    )
    .filter((l) => l && !l.startsWith('@'))
    .join(' ');
  const m = /^(.+?[.!?])(\s|$)/.exec(text);
  return (m?.[1] ?? text).slice(0, 200);
};

const KIND: Record<string, string> = {
  FunctionDeclaration: 'function',
  ClassDeclaration: 'class',
  VariableDeclaration: 'const',
  TSInterfaceDeclaration: 'interface',
  TSTypeAliasDeclaration: 'type',
  TSEnumDeclaration: 'enum',
  TSModuleDeclaration: 'namespace',
};

function declared(decl: Node): string[] {
  if (decl.type === 'VariableDeclaration') {
    return ((decl['declarations'] as Node[]) ?? [])
      .map((d) => ((d['id'] as Node)?.['name'] as string) ?? '')
      .filter(Boolean);
  }
  const id = decl['id'] as Node | null | undefined;
  return id && typeof id['name'] === 'string' ? [id['name']] : [];
}

/** The file's summary and its exports. Files that do not parse give what could be read. */
export async function exportsOf(fileName: string, text: string): Promise<{ summary: string; exports: ExportInfo[] }> {
  const parse = await loadParser();
  const r = parse(fileName, text);
  const comments = [...r.comments].sort((a, b) => a.start - b.start);
  const docBefore = (start: number): string => {
    let best: { value: string; end: number; type: string } | undefined;
    for (const c of comments) {
      if (c.end > start) break;
      best = c;
    }
    if (!best || text.slice(best.end, start).trim() !== '') return '';
    return firstSentence(best.type === 'Block' ? `/*${best.value}*/` : best.value);
  };
  const body = (r.program['body'] as Node[]) ?? [];
  const first = comments[0];
  const summary =
    first && text.slice(0, first.start).trim() === ''
      ? firstSentence(first.type === 'Block' ? `/*${first.value}*/` : first.value)
      : '';
  const out: ExportInfo[] = [];
  for (const node of body) {
    if (node.type === 'ExportNamedDeclaration') {
      const decl = node['declaration'] as Node | null;
      if (decl) {
        for (const name of declared(decl))
          out.push({ name, kind: KIND[decl.type] ?? 'value', summary: docBefore(node.start) });
      } else {
        for (const s of (node['specifiers'] as Node[]) ?? []) {
          const exported = s['exported'] as Node;
          out.push({ name: String(exported['name'] ?? exported['value']), kind: 're-export', summary: '' });
        }
      }
    } else if (node.type === 'ExportDefaultDeclaration') {
      const decl = node['declaration'] as Node;
      out.push({ name: 'default', kind: KIND[decl.type] ?? 'value', summary: docBefore(node.start) });
    } else if (node.type === 'ExportAllDeclaration') {
      const src = (node['source'] as Node)['value'] as string;
      const exported = node['exported'] as Node | null;
      out.push({ name: exported ? String(exported['name']) : `* from ${src}`, kind: 're-export', summary: '' });
    }
  }
  return { summary, exports: out };
}
