/**
 * The configuration reference (docs/reference/config.md): every field of the engine options (what
 * `createOrchestrationEngine()` takes and what a config file holds) and of the config file's `daemon` section, with
 * its type and bounds from the zod schemas that check them and its description from the TSDoc of `EngineOptions`
 * (src/config/options.ts) or the daemon section's own descriptions.
 */
import { engineOptionsSchema } from '../../src/config/schema.js';
import { daemonSectionSchema } from '../../src/edges/daemon/configFile.js';
import { paramsJsonSchema } from '../../src/modules/schema.js';
import { generatedBanner, table } from './markdown.js';
import type { Member } from './tsdoc.js';
import { interfaceMembers } from './tsdoc.js';

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  items?: Schema;
  properties?: Record<string, Schema>;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  pattern?: string;
  description?: string;
};

/** A schema in words: `integer ≥ 1`, `"fail" \| "skip"`, `string[]`, `boolean or object`. */
function typeOf(s: Schema): string {
  if (s.anyOf) return [...new Set(s.anyOf.map(typeOf))].join(' or ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.type === 'array') return `${s.items ? typeOf(s.items) : 'any'}[]`;
  const base = Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? 'any');
  const bounds: string[] = [];
  if (s.minimum !== undefined) bounds.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) bounds.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) bounds.push(`≤ ${s.maximum}`);
  return [base, ...bounds].join(' ');
}

/** The object schemas inside `s` (itself, or the objects of a union), their properties merged (a field in several: any of them). */
function propertiesOf(s: Schema): Record<string, Schema> {
  const objects = s.anyOf ? s.anyOf.filter((a) => a.properties) : s.properties ? [s] : [];
  const out: Record<string, Schema> = {};
  for (const o of objects)
    for (const [k, v] of Object.entries(o.properties ?? {})) out[k] = out[k] ? { anyOf: [out[k], v] } : v;
  return out;
}

/** Where the option interfaces a member's type names are declared (the engine options' file first). */
const CONFIG_FILES = ['src/config/options.ts', 'src/config/tracing.ts'];

/** The members of an option interface, from the first of {@link CONFIG_FILES} that declares it. */
function membersOf(name: string): Member[] {
  let last: unknown;
  for (const file of CONFIG_FILES) {
    try {
      return interfaceMembers(file, name);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/** The TSDoc of the members of the interfaces a member's type names (`boolean | HttpOptions` -> HttpOptions). */
function nestedDocs(member: Member | undefined): Map<string, Member> {
  const names = member?.type.match(/\b[A-Z]\w*(?:Options|Spec)\b/g) ?? [];
  return new Map(names.flatMap(membersOf).map((m) => [m.name, m]));
}

/** One row per field, nested objects' fields as `parent.child`. */
function rows(schema: Schema, docs: Map<string, Member>, prefix = ''): string[][] {
  const out: string[][] = [];
  for (const [name, s] of Object.entries(propertiesOf(schema))) {
    const doc = docs.get(name);
    const path = `${prefix}${name}`;
    out.push([`\`${path}\``, typeOf(s), s.description ?? doc?.doc ?? '']);
    if (Object.keys(propertiesOf(s)).length > 0) out.push(...rows(s, nestedDocs(doc), `${path}.`));
  }
  return out;
}

/** The page. */
export function configReference(): string {
  const engineDocs = new Map(interfaceMembers('src/config/options.ts', 'EngineOptions').map((m) => [m.name, m]));
  return [
    generatedBanner(
      'the options schemas in src/config/options.ts, src/config/tracing.ts and src/edges/daemon/options.ts',
    ),
    '',
    '# Configuration reference',
    '',
    'Engine options are what `createOrchestrationEngine(options)` and `getOrchestrationEngine(options)` take, and what',
    "the daemon's config file (`codomyrmex.config.json`/`.yaml`, or `--config FILE`) holds at its top level. Every",
    'field is optional; its default is in its description. Flags win over environment variables, which win over the',
    'file. A wrong field fails the start naming the field. How to use them: [operations](../operations.md).',
    '',
    '## Engine options',
    '',
    table(['field', 'type', 'description'], rows(paramsJsonSchema(engineOptionsSchema), engineDocs)),
    '',
    "## The config file's `daemon` section",
    '',
    'Only in the config file (`daemon: { ... }`); the `codomyrmex daemon` flags of the same names win over it.',
    '',
    table(['field', 'type', 'description'], rows(paramsJsonSchema(daemonSectionSchema), new Map(), 'daemon.')),
    '',
  ].join('\n');
}
