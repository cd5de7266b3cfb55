/**
 * The NATS and HTTP command reference (docs/reference/nats.md): every command of the protocol with its subject, its
 * HTTP route, its request as JSON Schema (from the zod schema that checks it on arrival) and its reply type (from
 * `CommandMap` in src/bus/protocol.ts, with that file's TSDoc).
 */
import { COMMAND_TYPES, requestSchemas } from '../../src/bus/schemas.js';
import { paramsJsonSchema } from '../../src/modules/schema.js';
import { generatedBanner, jsonBlock, table } from './markdown.js';
import { interfaceMembers } from './tsdoc.js';

const PREFIX = 'codomyrmex';

/** The page. */
export function natsReference(): string {
  const map = new Map(interfaceMembers('src/bus/protocol.ts', 'CommandMap').map((m) => [m.name, m]));
  const components = [...new Set(COMMAND_TYPES.map((t) => t.split('.')[0]!))];
  const out = [
    generatedBanner('src/bus/schemas.ts (requests) and src/bus/protocol.ts (replies)'),
    '',
    '# NATS and HTTP command reference',
    '',
    `Every command \`<component>.<verb>\` is a NATS request on \`${PREFIX}.cmd.<component>.<verb>\` (queue group`,
    `\`${PREFIX}.cmd.<component>\`; the prefix is \`--subject-prefix\`) and an HTTP \`POST /api/v1/cmd/<component>/<verb>\``,
    'on the daemon, both with the same JSON request, checked by the same schema. Field names may also be written in',
    'snake_case (`session_id`). The reply is `{ "ok": true, "result": <reply> }` or',
    '`{ "ok": false, "error": { "name", "code", "message", "retryable", "issues"?, "fields"?, "data"?, "cause"? } }`.',
    'Reply types name the TypeScript types of `src/bus/protocol.ts` and `src/model/`. How to use them:',
    '[the daemon over NATS](../daemon-nats.md).',
    '',
    table(
      ['component', 'commands'],
      components.map((c) => [
        c,
        COMMAND_TYPES.filter((t) => t.startsWith(`${c}.`))
          .map((t) => `[${t.slice(c.length + 1)}](#${t.replace('.', '')})`)
          .join(', '),
      ]),
    ),
  ];
  for (const c of components) {
    out.push('', `## ${c}`);
    for (const type of COMMAND_TYPES.filter((t) => t.startsWith(`${c}.`))) {
      const entry = map.get(type);
      if (!entry) throw new Error(`src/bus/protocol.ts: CommandMap has no ${type}`);
      const reply = entry.members.find((m) => m.name === 'res')?.type ?? 'unknown';
      const [component, verb] = type.split('.') as [string, string];
      out.push(
        '',
        `### ${type}`,
        '',
        ...(entry.doc ? [entry.doc, ''] : []),
        `NATS \`${PREFIX}.cmd.${type}\` · HTTP \`POST /api/v1/cmd/${component}/${verb}\` · reply \`${reply.replace(/\s+/g, ' ')}\``,
        '',
        jsonBlock(paramsJsonSchema(requestSchemas[type])),
      );
    }
  }
  return out.join('\n') + '\n';
}
