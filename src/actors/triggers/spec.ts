/**
 * A trigger as the trigger component keeps it: its stored record and live state, the kind of source it listens
 * on, the durable consumer of a JetStream trigger, the checks a new trigger passes, and how the API shows it.
 */
import type { z } from 'zod';
import type { TriggerSpec, TriggerView, triggerInputSchema } from '../../model/schedule.js';
import { checkPayloadLimits } from '../../model/validate.js';
import { findTemplates } from '../../workflows/template.js';
import type { TriggerListening } from './transport.js';

/** What the `triggers` record holds. */
export interface TriggerRecord {
  spec: TriggerSpec;
  paused: boolean;
}

/** A trigger this engine knows: its record, and what listens for it now. */
export interface LiveTrigger {
  rec: TriggerRecord;
  listening: TriggerListening | null;
  /** The stream a JetStream trigger consumes (known once it listens). */
  stream: string | null;
  reason: string | null;
  fired: number;
  rejected: number;
  deleted: boolean;
}

/** Where a trigger's messages come from. */
export type TriggerSourceKind = 'nats' | 'jetstream' | 'http';

const HOOK_PATH = /^\/hooks\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;

/** A trigger that does not listen yet. */
export function liveTrigger(rec: TriggerRecord): LiveTrigger {
  return { rec, listening: null, stream: null, reason: null, fired: 0, rejected: 0, deleted: false };
}

export function kindOf(spec: TriggerSpec): TriggerSourceKind {
  return 'http' in spec.source
    ? 'http'
    : spec.source.stream !== undefined && spec.source.stream !== false
      ? 'jetstream'
      : 'nats';
}

/** The durable consumer of a JetStream trigger (a NATS name: no dots). */
export function durableName(spec: TriggerSpec): string {
  return 'nats' in spec.source && spec.source.durable !== undefined
    ? spec.source.durable
    : `codomyrmex_trigger_${spec.name.replace(/[^\w-]/g, '_')}`;
}

/**
 * What is wrong with a new trigger (parsed by its schema) beside the triggers there are: its name or webhook path
 * taken, a path or subject that is not one, parameters too large or reading anything but the message.
 */
export function triggerProblems(i: z.output<typeof triggerInputSchema>, triggers: Iterable<LiveTrigger>): string[] {
  const existing = [...triggers];
  const problems: string[] = [];
  if (existing.some((t) => t.rec.spec.name === i.name))
    problems.push(`trigger.name: a trigger named "${i.name}" exists already; delete it first or pick another name`);
  if ('http' in i.source) {
    const path = i.source.http.path;
    if (!HOOK_PATH.test(path))
      problems.push(
        `trigger.source.http.path: must be a path under /hooks/ (letters, digits, . _ ~ -), e.g. "/hooks/deploy" (got "${path}")`,
      );
    const clash = existing.find((t) => 'http' in t.rec.spec.source && t.rec.spec.source.http.path === path);
    if (clash) problems.push(`trigger.source.http.path: "${path}" is taken by trigger "${clash.rec.spec.name}"`);
  } else if (/\s/.test(i.source.nats) || i.source.nats.startsWith('.') || i.source.nats.endsWith('.')) {
    problems.push(
      `trigger.source.nats: "${i.source.nats}" is not a NATS subject (tokens separated by dots, no spaces; * and > as wildcards)`,
    );
  }
  if (i.parameters !== undefined) {
    const bad = checkPayloadLimits(i.parameters, 'trigger.parameters');
    if (bad) problems.push(bad);
    try {
      for (const site of findTemplates(i.parameters, ['parameters'])) {
        for (const ref of site.refs)
          if (ref.root !== 'event')
            problems.push(
              `trigger.parameters: {{${ref.raw}}} reads "${ref.root}"; a trigger's parameters read the message: {{event.data}}, {{event.subject}}, {{event.headers}}`,
            );
      }
    } catch (err) {
      problems.push(`trigger.${(err as Error).message}`);
    }
  }
  return problems;
}

/** The trigger as `listTriggers()` shows it (`firing`: this engine fires triggers now). */
export function triggerView(t: LiveTrigger, firing: boolean): TriggerView {
  const { spec } = t.rec;
  const kind = kindOf(spec);
  const http = 'http' in spec.source ? spec.source.http : null;
  const listening = t.rec.paused ? false : kind === 'http' ? firing : t.listening !== null;
  const stream = 'nats' in spec.source && typeof spec.source.stream === 'string' ? spec.source.stream : t.stream;
  return {
    name: spec.name,
    workflow: spec.workflow,
    kind,
    target: http ? http.path : 'nats' in spec.source ? spec.source.nats : '',
    stream: kind === 'jetstream' ? stream : null,
    parameters: spec.parameters,
    paused: t.rec.paused,
    listening,
    reason:
      listening || t.rec.paused
        ? null
        : (t.reason ??
          (kind === 'http'
            ? 'this engine does not fire triggers'
            : 'this engine has no NATS connection (run the daemon with --nats)')),
    fired: t.fired,
    rejected: t.rejected,
    createdAt: spec.createdAt,
  };
}
