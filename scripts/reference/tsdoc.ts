/**
 * Reads TSDoc comments and member types from a source file without type-checking it (TypeScript's parser only):
 * the references take descriptions from the code's own comments instead of repeating them.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { packagePath } from '../../src/config/options.js';

/** One member of an interface: its name, its type as written, and its TSDoc text (tags left out). */
export interface Member {
  name: string;
  type: string;
  doc: string;
  /** For a member whose type is an object literal (`{ req; res }`), its own members. */
  members: Member[];
}

function docOf(node: ts.Node): string {
  const docs = (node as ts.Node & { jsDoc?: ts.JSDoc[] }).jsDoc ?? [];
  return docs
    .map((d) => ts.getTextOfJSDocComment(d.comment) ?? '')
    .join('\n')
    .trim();
}

function membersOf(elements: ts.NodeArray<ts.TypeElement>, sf: ts.SourceFile): Member[] {
  return elements.filter(ts.isPropertySignature).map((p) => ({
    name: ts.isStringLiteral(p.name) ? p.name.text : p.name.getText(sf),
    type: p.type?.getText(sf) ?? 'unknown',
    doc: docOf(p),
    members: p.type && ts.isTypeLiteralNode(p.type) ? membersOf(p.type.members, sf) : [],
  }));
}

/**
 * The members of `interface name` (or of every object in `type name = { ... } | { ... }`, first one of a name
 * wins) in `file` (relative to the package root), in declaration order.
 */
export function interfaceMembers(file: string, name: string): Member[] {
  const sf = ts.createSourceFile(file, readFileSync(packagePath(file), 'utf8'), ts.ScriptTarget.Latest, true);
  for (const s of sf.statements) {
    if (ts.isInterfaceDeclaration(s) && s.name.text === name) return membersOf(s.members, sf);
    if (ts.isTypeAliasDeclaration(s) && s.name.text === name) {
      const literals = ts.isUnionTypeNode(s.type) ? s.type.types : [s.type];
      const seen = new Map<string, Member>();
      for (const t of literals)
        if (ts.isTypeLiteralNode(t))
          for (const m of membersOf(t.members, sf)) if (!seen.has(m.name)) seen.set(m.name, m);
      return [...seen.values()];
    }
  }
  throw new Error(`${file}: no interface or type ${name} (the reference generator reads it)`);
}
