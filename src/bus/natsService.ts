/**
 * The command API as a NATS service, in the sense of the NATS Services ("micro") protocol: the daemon answers
 * `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS` (each also under `.<name>` and `.<name>.<id>`), so the NATS tooling users
 * already have (`nats micro ls|info|stats`) finds and measures it. Each command is one endpoint on the subject
 * {@link NatsBus} serves, with its request schema (JSON Schema, from the zod schema checked at the boundary) in the
 * endpoint's metadata. Answered by hand on the bus's own connection: the `@nats-io/services` package on npm is a
 * prerelease pinning an older client, and serving the command subjects a second time would handle each command twice.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Subscription } from '@nats-io/transport-node';
import type { zodToJsonSchema as ZodToJsonSchema } from 'zod-to-json-schema';
import type { NatsBus } from './nats.js';
import type { CommandType } from './protocol.js';
import { componentOf } from './protocol.js';
import { COMMAND_TYPES, requestSchemas } from './schemas.js';

export interface ServiceInfo {
  /** The service name (letters, digits, `-` and `_`); default the bus's subject prefix with other characters as `_`. */
  name?: string;
  version: string;
  description?: string;
  metadata?: Record<string, string>;
}

interface Endpoint {
  name: CommandType;
  subject: string;
  queue_group: string;
  metadata: Record<string, string>;
}

let schemaOf: ((type: CommandType) => string) | null = null;

/** The JSON Schema of a command's request, as a string (computed once per command, on the first INFO). */
function requestSchema(type: CommandType): string {
  schemaOf ??= (() => {
    const convert = (
      createRequire(import.meta.url)('zod-to-json-schema') as { zodToJsonSchema: typeof ZodToJsonSchema }
    ).zodToJsonSchema;
    const cache = new Map<CommandType, string>();
    return (t: CommandType) => {
      let s = cache.get(t);
      if (s === undefined)
        cache.set(t, (s = JSON.stringify(convert(requestSchemas[t], { target: 'jsonSchema7', $refStrategy: 'none' }))));
      return s;
    };
  })();
  return schemaOf(type);
}

/** Answers the service-discovery subjects for `bus` until the returned function is called. */
export function serveDiscovery(bus: NatsBus, info: ServiceInfo): () => void {
  const name = info.name ?? bus.subjectPrefix.replace(/[^A-Za-z0-9_-]/g, '_');
  const id = randomUUID().replace(/-/g, '').slice(0, 22);
  const started = new Date().toISOString();
  const base = { name, id, version: info.version, metadata: info.metadata ?? {} };
  const endpoints = (): Endpoint[] =>
    COMMAND_TYPES.map((type) => ({
      name: type,
      subject: `${bus.subjectPrefix}.cmd.${type}`,
      queue_group: `${bus.subjectPrefix}.cmd.${componentOf(type)}`,
      metadata: { schema: requestSchema(type) },
    }));
  const answers: Record<'PING' | 'INFO' | 'STATS', () => unknown> = {
    PING: () => ({ type: 'io.nats.micro.v1.ping_response', ...base }),
    INFO: () => ({
      type: 'io.nats.micro.v1.info_response',
      ...base,
      description: info.description ?? '',
      endpoints: endpoints(),
    }),
    STATS: () => {
      const served = bus.servedStats();
      return {
        type: 'io.nats.micro.v1.stats_response',
        ...base,
        started,
        endpoints: COMMAND_TYPES.map((type) => {
          const s = served.get(type);
          const ns = s ? Number(s.processingNs) : 0;
          return {
            name: type,
            subject: `${bus.subjectPrefix}.cmd.${type}`,
            queue_group: `${bus.subjectPrefix}.cmd.${componentOf(type)}`,
            num_requests: s?.requests ?? 0,
            num_errors: s?.errors ?? 0,
            last_error: s?.lastError ?? '',
            processing_time: ns,
            average_processing_time: s && s.requests > 0 ? Math.round(ns / s.requests) : 0,
          };
        }),
      };
    },
  };
  const subs: Subscription[] = [];
  const nc = bus.connection;
  for (const verb of ['PING', 'INFO', 'STATS'] as const) {
    for (const subject of [`$SRV.${verb}`, `$SRV.${verb}.${name}`, `$SRV.${verb}.${name}.${id}`]) {
      subs.push(
        nc.subscribe(subject, {
          callback: (err, msg) => {
            if (err || !msg.reply) return;
            try {
              msg.respond(JSON.stringify(answers[verb]()));
            } catch {
              // The connection is going away; the asker times out.
            }
          },
        }),
      );
    }
  }
  return () => {
    if (nc.isClosed()) return;
    for (const s of subs.splice(0)) s.unsubscribe();
  };
}
