/**
 * JSON Schema of an action's parameters, derived from its zod schema (zod-to-json-schema), as `modules list` and MCP
 * show it. Cached per schema.
 */
import { createRequire } from 'node:module';
import type { ZodType } from 'zod';
import type { zodToJsonSchema as ZodToJsonSchema } from 'zod-to-json-schema';

// Loaded on first use: worker threads build a registry too, but never describe it.
let convert: typeof ZodToJsonSchema | null = null;
const load = (): typeof ZodToJsonSchema =>
  (convert ??= (createRequire(import.meta.url)('zod-to-json-schema') as { zodToJsonSchema: typeof ZodToJsonSchema })
    .zodToJsonSchema);

const cache = new WeakMap<object, Record<string, unknown>>();

/** The parameters' JSON Schema (draft 7, `$schema` left out); `{}` (anything) when the schema cannot be converted. */
export function paramsJsonSchema(schema: ZodType<unknown, never, unknown> | ZodType): Record<string, unknown> {
  const hit = cache.get(schema);
  if (hit) return hit;
  let out: Record<string, unknown>;
  try {
    // "input": defaults make fields optional, as a caller writes them.
    const { $schema: _drop, ...rest } = load()(schema as ZodType, {
      target: 'jsonSchema7',
      pipeStrategy: 'input',
      effectStrategy: 'input',
      $refStrategy: 'none',
    }) as Record<string, unknown>;
    out = rest;
  } catch {
    out = {};
  }
  cache.set(schema, out);
  return out;
}
