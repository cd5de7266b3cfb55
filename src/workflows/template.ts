/**
 * Output templating for workflow parameters: `{{step.output}}`, paths into it (`{{a.output.files[0].path}}`),
 * `{{step.error}}` / `{{step.status}}` (for steps after a `continueOnFailure` one) and `{{params.x}}` (run
 * parameters) and `{{project.config.x}}` (the project of a project run: its `name`, `path`, `config`). A string that is exactly one template keeps the value's type; a template inside a longer string is
 * interpolated as text (objects as JSON).
 */

import { ValidationError } from '../errors.js';
import { LIMITS } from '../model/limits.js';

export type PathSegment = string | number;

/** One `{{...}}` reference. `root` is a step name, `params` or `project`. */
export interface TemplateRef {
  raw: string;
  root: string;
  path: PathSegment[];
}

/** Where a templated string sits in a parameter object, and what it references. */
export interface TemplateSite {
  location: PathSegment[];
  refs: TemplateRef[];
}

export const STEP_FIELDS = ['output', 'error', 'status', 'artifacts'] as const;

/** One `{{ expr }}` found in a string: where it starts and ends, and its trimmed inside. */
export interface TemplateMatch {
  start: number;
  end: number;
  expr: string;
}

/**
 * Every `{{ expr }}` of a string whose inside holds no `{` or `}`, left to right, in one pass (linear in the
 * string's length; a regular expression with `\s*` around a lazy group backtracks cubically on `"{{" + spaces`).
 */
export function scanTemplates(s: string): TemplateMatch[] {
  const out: TemplateMatch[] = [];
  let from = 0;
  for (;;) {
    const start = s.indexOf('{{', from);
    if (start < 0) return out;
    let j = start + 2;
    while (j < s.length) {
      const c = s.charCodeAt(j);
      if (c === 0x7b || c === 0x7d) break; // { or }
      j++;
    }
    if (j >= s.length) return out; // no brace after this one: no later template can close either
    if (s.charCodeAt(j) === 0x7d && s.charCodeAt(j + 1) === 0x7d) {
      out.push({ start, end: j + 2, expr: s.slice(start + 2, j).trim() });
      from = j + 2;
    } else {
      // A `{` or a lone `}` inside: no template starts here; the next candidate is the next `{{` after this one.
      from = start + 1;
    }
  }
}

/** The inside of `s` when `s` is exactly one template (`{{ expr }}`), else null. */
export function wholeTemplate(s: string): string | null {
  if (s.length < 4 || !s.startsWith('{{') || !s.endsWith('}}')) return null;
  for (let j = 2; j < s.length - 2; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x7b || c === 0x7d) return null;
  }
  return s.slice(2, -2).trim();
}

/** Parses `a.output.files[0].path` into root `a` and path `['output', 'files', 0, 'path']`. Throws on bad syntax. */
export function parseRef(expr: string): TemplateRef {
  const segments: PathSegment[] = [];
  const re = /([A-Za-z_][\w-]*)|\[(\d+)\]|\[["']([^"']*)["']\]|(\.)/y;
  let pos = 0;
  let expectName = true;
  while (pos < expr.length) {
    re.lastIndex = pos;
    const m = re.exec(expr);
    if (!m)
      throw new Error(
        `bad template "{{${clip(expr)}}}": unexpected "${clip(expr.slice(pos), 40)}" (write paths like step.output.items[0].name)`,
      );
    if (m[1] !== undefined) {
      if (!expectName) throw new Error(`bad template "{{${expr}}}": missing "." before "${m[1]}"`);
      segments.push(m[1]);
      expectName = false;
    } else if (m[2] !== undefined) segments.push(Number(m[2]));
    else if (m[3] !== undefined) segments.push(m[3]);
    else {
      if (expectName) throw new Error(`bad template "{{${expr}}}": empty name before "." (write step.output.field)`);
      expectName = true;
    }
    pos = re.lastIndex;
  }
  const [root, ...path] = segments;
  if (typeof root !== 'string' || expectName)
    throw new Error(`bad template "{{${expr}}}": write it as step.output, step.output.field or params.name`);
  return { raw: expr, root, path };
}

/** `a.b[0].c` for a location, as error messages name fields. */
export function describeLocation(location: readonly PathSegment[]): string {
  return location.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/**
 * Every templated string in a value, with its location. Throws on a malformed template, or one past
 * `LIMITS.maxTemplatedStringLength` / `maxTemplateLength`, naming where it is. Linear in the value's size.
 */
export function findTemplates(value: unknown, location: PathSegment[] = []): TemplateSite[] {
  const sites: TemplateSite[] = [];
  const walk = (v: unknown, loc: PathSegment[]): void => {
    if (typeof v === 'string') {
      if (!v.includes('{{')) return;
      const at = (msg: string): Error => new Error(loc.length ? `${describeLocation(loc)}: ${msg}` : msg);
      if (v.length > LIMITS.maxTemplatedStringLength) {
        throw at(
          `a string holding a {{template}} is at most ${LIMITS.maxTemplatedStringLength} characters (limit maxTemplatedStringLength; got ${v.length})`,
        );
      }
      const refs = scanTemplates(v).map((m) => {
        if (m.expr.length > LIMITS.maxTemplateLength)
          throw at(
            `a {{template}} is at most ${LIMITS.maxTemplateLength} characters between the braces (limit maxTemplateLength; got ${m.expr.length})`,
          );
        try {
          return parseRef(m.expr);
        } catch (err) {
          throw at((err as Error).message);
        }
      });
      if (refs.length) sites.push({ location: loc, refs });
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, [...loc, i]));
    } else if (typeof v === 'object' && v !== null) {
      for (const k of Object.keys(v)) walk((v as Record<string, unknown>)[k], [...loc, k]);
    }
  };
  walk(value, location);
  return sites;
}

/** What templates can see while a run is going. */
export interface TemplateScope {
  params: Record<string, unknown>;
  /** `artifacts`: a completed step's artifacts, name → path in the consuming step's working folder. */
  steps: Record<
    string,
    { output: unknown; error: unknown; status: string; artifacts?: Record<string, string> } | undefined
  >;
  /** The project of a project run (`{{project.config.x}}`); absent otherwise. */
  project?: Record<string, unknown> | undefined;
  /** Inside one item of a forEach step: `{{item}}`, `{{item.path}}` and `{{index}}`. */
  item?: { value: unknown; index: number } | undefined;
  /** A trigger's message (`{{event.data}}`, `{{event.subject}}`, `{{event.headers}}`) while its parameters resolve. */
  event?: Record<string, unknown> | undefined;
}

/** Template roots that name the current item of a forEach step. */
export const ITEM_ROOTS: ReadonlySet<string> = new Set(['item', 'index']);

/** Thrown when a reference resolves to nothing at run time: bad input (`VALIDATION`), its one issue the message. */
export class TemplateResolutionError extends ValidationError {
  override name = 'TemplateResolutionError';
}

function describePath(root: string, path: PathSegment[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : `${acc}.${p}`), root);
}

/** The value a reference points at; throws a `TemplateResolutionError` naming where the path broke. */
export function resolveRef(ref: TemplateRef, scope: TemplateScope): unknown {
  let value: unknown;
  let path = ref.path;
  const local = scope.item && ITEM_ROOTS.has(ref.root);
  if (local) {
    value = ref.root === 'item' ? scope.item?.value : scope.item?.index;
  } else if (ref.root === 'params') {
    value = scope.params;
  } else if (ref.root === 'project') {
    if (!scope.project)
      throw new TemplateResolutionError(
        `{{${ref.raw}}}: this run belongs to no project; run it with engine.executeProjectWorkflow(project, workflow)`,
      );
    value = scope.project;
  } else if (ref.root === 'event' && scope.event) {
    value = scope.event;
  } else {
    const step = Object.hasOwn(scope.steps, ref.root) ? scope.steps[ref.root] : undefined;
    if (!step) throw new TemplateResolutionError(`{{${ref.raw}}}: step "${ref.root}" has no result yet`);
    const [field, ...rest] = path;
    if (field === undefined)
      throw new TemplateResolutionError(
        `{{${ref.raw}}}: name a field of the step (output, error, status or artifacts)`,
      );
    if (field === 'artifacts') return artifactOf(ref, step, rest);
    value = (step as Record<string, unknown>)[String(field)];
    path = rest;
    if (value === undefined)
      throw new TemplateResolutionError(`{{${ref.raw}}}: step "${ref.root}" has no ${String(field)}`);
  }
  const walked: PathSegment[] =
    local || ref.root === 'params' || ref.root === 'project' || (ref.root === 'event' && scope.event)
      ? []
      : [ref.path[0] ?? ''];
  for (const seg of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, seg)) {
      const where = describePath(ref.root, walked);
      const kind = Array.isArray(value) ? `an array of ${value.length}` : value === null ? 'null' : typeof value;
      throw new TemplateResolutionError(
        `{{${ref.raw}}}: ${where} is ${kind}, with no ${typeof seg === 'number' ? `item [${seg}]` : `field "${seg}"`}`,
      );
    }
    value = (value as Record<PathSegment, unknown>)[seg];
    walked.push(seg);
  }
  if (value === undefined) throw new TemplateResolutionError(`{{${ref.raw}}}: resolved to nothing`);
  return value;
}

/**
 * `{{step.artifacts.NAME}}`: the path of an artifact the step produced in this run, or an error naming the artifact
 * and the step (never a file of another run that happens to lie where this one would be).
 */
function artifactOf(
  ref: TemplateRef,
  step: { status: string; artifacts?: Record<string, string> },
  rest: PathSegment[],
): string {
  const made = step.artifacts ?? {};
  const name = rest.map(String).join('.');
  if (name === '')
    throw new TemplateResolutionError(`{{${ref.raw}}}: name the artifact, e.g. {{${ref.root}.artifacts.svg}}`);
  if (Object.hasOwn(made, name)) return made[name] as string;
  const why =
    step.status !== 'completed'
      ? `step "${ref.root}" ended ${step.status}`
      : `it produced ${Object.keys(made).length ? Object.keys(made).join(', ') : 'no artifacts'}`;
  throw new TemplateResolutionError(
    `{{${ref.raw}}}: artifact "${name}" of step "${ref.root}" was not produced in this run (${why})`,
  );
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Resolves one templated string: whole-string templates keep their type, embedded ones become text. */
export function resolveString(s: string, scope: TemplateScope): unknown {
  const whole = wholeTemplate(s);
  if (whole !== null) return resolveRef(parseRef(whole), scope);
  let out = '';
  let at = 0;
  for (const m of scanTemplates(s)) {
    out += s.slice(at, m.start) + asText(resolveRef(parseRef(m.expr), scope));
    at = m.end;
  }
  return out + s.slice(at);
}

/** A copy of `value` with every template resolved. Values without templates are shared, not copied. */
export function resolveTemplates(value: unknown, scope: TemplateScope): unknown {
  if (typeof value === 'string') return value.includes('{{') ? resolveString(value, scope) : value;
  if (Array.isArray(value)) return value.map((x) => resolveTemplates(x, scope));
  if (typeof value === 'object' && value !== null) {
    // fromEntries defines keys, so a `__proto__` key stays a key instead of becoming the copy's prototype.
    return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, resolveTemplates(x, scope)]));
  }
  return value;
}

/**
 * Evaluates a step's `when` condition: a single template (truthy or not), or `<template> <op> <JSON literal>` with
 * op one of `== != > >= < <=`, optionally prefixed by `!`.
 */
export function evaluateCondition(condition: string, scope: TemplateScope): boolean {
  const parsed = parseCondition(condition);
  const left = resolveString(parsed.template, scope);
  let result: boolean;
  if (parsed.op === null) result = Boolean(left) && !(Array.isArray(left) && left.length === 0);
  else {
    const right = parsed.literal;
    switch (parsed.op) {
      case '==':
        result = JSON.stringify(left) === JSON.stringify(right);
        break;
      case '!=':
        result = JSON.stringify(left) !== JSON.stringify(right);
        break;
      case '>':
        result = (left as number) > (right as number);
        break;
      case '>=':
        result = (left as number) >= (right as number);
        break;
      case '<':
        result = (left as number) < (right as number);
        break;
      case '<=':
        result = (left as number) <= (right as number);
        break;
    }
  }
  return parsed.negate ? !result : result;
}

export interface ParsedCondition {
  negate: boolean;
  template: string;
  op: '==' | '!=' | '>' | '>=' | '<' | '<=' | null;
  literal: unknown;
}

const OPERATORS = ['==', '!=', '>=', '<=', '>', '<'] as const;

/** Parses a `when` condition in one pass (linear in its length); throws with a usage hint when it is not one. */
export function parseCondition(condition: string): ParsedCondition {
  const bad = (): Error =>
    new Error(`bad condition "${clip(condition)}": write "{{step.output.ok}}" or "{{step.output.count}} > 3"`);
  let rest = condition.trim();
  const negate = rest.startsWith('!');
  if (negate) rest = rest.slice(1).trimStart();
  const first = rest.startsWith('{{') ? scanTemplates(rest)[0] : undefined;
  if (!first || first.start !== 0) throw bad();
  const template = rest.slice(0, first.end);
  rest = rest.slice(first.end).trim();
  let op: ParsedCondition['op'] = null;
  let value: unknown = null;
  if (rest !== '') {
    op = OPERATORS.find((o) => rest.startsWith(o)) ?? null;
    if (!op) throw bad();
    const literal = rest.slice(op.length).trim();
    if (literal === '') throw bad();
    try {
      value = JSON.parse(literal);
    } catch {
      throw new Error(
        `bad condition "${clip(condition)}": the right side must be JSON (a number, true/false/null, or "quoted text")`,
      );
    }
  }
  parseRef(first.expr);
  return { negate, template, op, literal: value };
}

/** A long input, shortened for an error message. */
export function clip(s: string, max = 80): string {
  return s.length <= max ? s : `${s.slice(0, max)}... (${s.length} characters)`;
}
