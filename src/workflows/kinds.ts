/**
 * Step kinds of the workflow language (README "Workflow language"): a `module.action` call, a sub-workflow
 * (`workflow:`), a durable wait (`waitFor`, `sleep`, `sleepUntil`), and `forEach` over either of the first two.
 * What each kind is, how it is checked at creation, and the names its events carry.
 */
import type { WorkflowStep } from '../model/workflow.js';
import { findTemplates, wholeTemplate } from './template.js';

export type StepKind = 'action' | 'workflow' | 'wait' | 'sleep' | 'sleepUntil';

/** The kind of a valid step. */
export function stepKind(step: WorkflowStep): StepKind {
  if (step.workflow !== undefined) return 'workflow';
  if (step.waitFor !== undefined) return 'wait';
  if (step.sleep !== undefined) return 'sleep';
  if (step.sleepUntil !== undefined) return 'sleepUntil';
  return 'action';
}

/**
 * The `module` and `action` a step's events and metrics name: its own for an action step; `workflow` and the
 * workflow's name for a sub-workflow; `signal` and the signal's name for `waitFor`; `sleep` for the sleeps.
 */
export function stepCall(step: WorkflowStep): { module: string; action: string } {
  switch (stepKind(step)) {
    case 'action':
      return { module: step.module ?? '', action: step.action ?? '' };
    case 'workflow':
      return { module: 'workflow', action: step.workflow ?? '' };
    case 'wait':
      return { module: 'signal', action: step.waitFor?.signal ?? '' };
    default:
      return { module: 'sleep', action: step.sleep !== undefined ? 'sleep' : 'sleepUntil' };
  }
}

/**
 * What a step does, in a few words (`workflow show`, graphs, plans): `core.echo`, `workflow build-and-test`,
 * `wait for signal "approval" (timeout 3600s, then fail)`, `sleep 10m`, `sleep until {{x.output.at}}`, each
 * prefixed by `forEach {{list}} →` for a fan-out step.
 */
export function describeStep(step: WorkflowStep): string {
  let what: string;
  switch (stepKind(step)) {
    case 'action':
      what = `${step.module ?? ''}.${step.action ?? ''}`;
      break;
    case 'workflow':
      what = `workflow ${step.workflow ?? ''}`;
      break;
    case 'wait': {
      const w = step.waitFor;
      what = `wait for signal "${w?.signal ?? ''}"${w?.timeoutSeconds !== undefined ? ` (timeout ${w.timeoutSeconds}s, then ${w.onTimeout ?? 'fail'})` : ''}`;
      break;
    }
    case 'sleep':
      what = `sleep ${String(step.sleep)}${typeof step.sleep === 'number' ? 's' : ''}`;
      break;
    default:
      what = `sleep until ${step.sleepUntil ?? ''}`;
  }
  if (step.forEach === undefined) return what;
  const list =
    typeof step.forEach === 'string'
      ? step.forEach
      : `[${Array.isArray(step.forEach) ? step.forEach.length : 0} items]`;
  return `forEach ${list}${typeof step.concurrency === 'number' ? ` (${step.concurrency} at once)` : ''} → ${what}`;
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A `sleep` value in milliseconds: a number of seconds, or a duration such as `"500ms"`, `"90s"`, `"10m"`, `"2h"`,
 * `"1d"` (a bare number in a string is seconds). Throws an `Error` saying what is accepted.
 */
export function parseSleep(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`must be 0 or more seconds (got ${value})`);
    return Math.round(value * 1000);
  }
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m)
    throw new Error(`must be a number of seconds or a duration such as "90s", "10m", "2h" or "1d" (got "${value}")`);
  return Math.round(Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1000));
}

/** An ISO time as epoch ms; throws when it is not one. */
export function parseTime(value: unknown): number {
  const t = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN;
  if (!Number.isFinite(t))
    throw new Error(`must be an ISO time such as "2026-01-31T09:00:00Z" (got ${JSON.stringify(value)})`);
  return t;
}

/** A JSON-ish type name for error messages: `array`, `null`, `object`, `number`, ... */
export function typeName(v: unknown): string {
  return Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
}

/** The problems of one step's kind fields (every one, each naming the step and field). */
export function kindProblems(s: WorkflowStep, label: string): string[] {
  const errors: string[] = [];
  const hasAction = s.module !== undefined || s.action !== undefined;
  if (hasAction && (s.module === undefined || s.action === undefined)) {
    errors.push(`${label}: give both module and action (got only ${s.module !== undefined ? 'module' : 'action'})`);
  }
  const kinds = [
    hasAction && 'module/action',
    s.workflow !== undefined && 'workflow',
    s.waitFor !== undefined && 'waitFor',
    s.sleep !== undefined && 'sleep',
    s.sleepUntil !== undefined && 'sleepUntil',
  ].filter((k): k is string => k !== false);
  if (kinds.length === 0)
    errors.push(`${label}: say what the step does: module and action, workflow, waitFor, sleep or sleepUntil`);
  if (kinds.length > 1) {
    const [first, second] = kinds;
    const waits = first === 'module/action' || first === 'workflow' ? second : first;
    errors.push(
      `${label}: ${waits} cannot be combined with ${waits === first ? second : first}; a step does one thing (a wait runs nothing: put the action in a step that depends on the wait)`,
    );
  }
  const waiting = s.waitFor !== undefined || s.sleep !== undefined || s.sleepUntil !== undefined;
  if (s.forEach !== undefined && waiting)
    errors.push(`${label}.forEach: works on module/action and workflow steps, not on waits`);
  if (typeof s.concurrency === 'number' && s.forEach === undefined)
    errors.push(`${label}.concurrency: applies to forEach steps only; add forEach or remove concurrency`);
  if (typeof s.forEach === 'string' && wholeTemplate(s.forEach) === null) {
    errors.push(
      `${label}.forEach: must be one {{template}} that resolves to an array (such as "{{list.output.files}}"), or a literal array`,
    );
  }
  if (s.sleep !== undefined) {
    try {
      parseSleep(s.sleep);
    } catch (err) {
      errors.push(`${label}.sleep: ${(err as Error).message}`);
    }
  }
  if (s.sleepUntil !== undefined && !s.sleepUntil.includes('{{')) {
    try {
      parseTime(s.sleepUntil);
    } catch (err) {
      errors.push(`${label}.sleepUntil: ${(err as Error).message}`);
    }
  }
  if (waiting && s.parameters !== undefined && Object.keys(s.parameters).length > 0) {
    errors.push(`${label}.parameters: a ${kinds[0] ?? 'wait'} step takes no parameters`);
  }
  return errors;
}

/** The templated strings of a step's own fields besides parameters (`forEach`, `sleepUntil`), for reference checks. */
export function kindTemplates(s: WorkflowStep): { where: string; sites: ReturnType<typeof findTemplates> }[] {
  const out: { where: string; sites: ReturnType<typeof findTemplates> }[] = [];
  if (s.forEach !== undefined) out.push({ where: 'forEach', sites: findTemplates(s.forEach) });
  if (s.sleepUntil !== undefined) out.push({ where: 'sleepUntil', sites: findTemplates(s.sleepUntil) });
  return out;
}
