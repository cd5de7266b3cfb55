/**
 * Output templating for workflow parameters: `{{step.output}}`, paths into it (`{{a.output.files[0].path}}`),
 * `{{step.error}}` / `{{step.status}}` (for steps after a `continueOnFailure` one) and `{{params.x}}` (run
 * parameters) and `{{project.config.x}}` (the project of a project run: its `name`, `path`, `config`). A string that is exactly one template keeps the value's type; a template inside a longer string is
 * interpolated as text (objects as JSON).
 */

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

export const STEP_FIELDS = ['output', 'error', 'status'] as const;

const TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const WHOLE = /^\{\{\s*([^{}]*?)\s*\}\}$/;

/** Parses `a.output.files[0].path` into root `a` and path `['output', 'files', 0, 'path']`. Throws on bad syntax. */
export function parseRef(expr: string): TemplateRef {
  const segments: PathSegment[] = [];
  const re = /([A-Za-z_][\w-]*)|\[(\d+)\]|\[["']([^"']*)["']\]|(\.)/y;
  let pos = 0;
  let expectName = true;
  while (pos < expr.length) {
    re.lastIndex = pos;
    const m = re.exec(expr);
    if (!m) throw new Error(`bad template "{{${expr}}}": unexpected "${expr.slice(pos)}" (write paths like step.output.items[0].name)`);
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
  if (typeof root !== 'string' || expectName) throw new Error(`bad template "{{${expr}}}": write it as step.output, step.output.field or params.name`);
  return { raw: expr, root, path };
}

/** Every templated string in a value, with its location. Throws on a malformed template. */
export function findTemplates(value: unknown, location: PathSegment[] = []): TemplateSite[] {
  const sites: TemplateSite[] = [];
  const walk = (v: unknown, loc: PathSegment[]): void => {
    if (typeof v === 'string') {
      if (!v.includes('{{')) return;
      const refs = [...v.matchAll(TEMPLATE)].map((m) => parseRef(m[1] ?? ''));
      if (refs.length) sites.push({ location: loc, refs });
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, [...loc, i]));
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) walk(x, [...loc, k]);
    }
  };
  walk(value, location);
  return sites;
}

/** What templates can see while a run is going. */
export interface TemplateScope {
  params: Record<string, unknown>;
  steps: Record<string, { output: unknown; error: unknown; status: string } | undefined>;
  /** The project of a project run (`{{project.config.x}}`); absent otherwise. */
  project?: Record<string, unknown> | undefined;
}

/** Thrown when a reference resolves to nothing at run time. */
export class TemplateResolutionError extends Error {
  override name = 'TemplateResolutionError';
}

function describePath(root: string, path: PathSegment[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : `${acc}.${p}`), root);
}

/** The value a reference points at; throws a `TemplateResolutionError` naming where the path broke. */
export function resolveRef(ref: TemplateRef, scope: TemplateScope): unknown {
  let value: unknown;
  let path = ref.path;
  if (ref.root === 'params') {
    value = scope.params;
  } else if (ref.root === 'project') {
    if (!scope.project) throw new TemplateResolutionError(`{{${ref.raw}}}: this run belongs to no project; run it with engine.executeProjectWorkflow(project, workflow)`);
    value = scope.project;
  } else {
    const step = scope.steps[ref.root];
    if (!step) throw new TemplateResolutionError(`{{${ref.raw}}}: step "${ref.root}" has no result yet`);
    const [field, ...rest] = path;
    if (field === undefined) throw new TemplateResolutionError(`{{${ref.raw}}}: name a field of the step (output, error or status)`);
    value = (step as Record<string, unknown>)[String(field)];
    path = rest;
    if (value === undefined) throw new TemplateResolutionError(`{{${ref.raw}}}: step "${ref.root}" has no ${String(field)}`);
  }
  const walked: PathSegment[] = ref.root === 'params' || ref.root === 'project' ? [] : [ref.path[0] ?? ''];
  for (const seg of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, seg)) {
      const where = describePath(ref.root, walked);
      const kind = Array.isArray(value) ? `an array of ${value.length}` : value === null ? 'null' : typeof value;
      throw new TemplateResolutionError(`{{${ref.raw}}}: ${where} is ${kind}, with no ${typeof seg === 'number' ? `item [${seg}]` : `field "${seg}"`}`);
    }
    value = (value as Record<PathSegment, unknown>)[seg];
    walked.push(seg);
  }
  if (value === undefined) throw new TemplateResolutionError(`{{${ref.raw}}}: resolved to nothing`);
  return value;
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Resolves one templated string: whole-string templates keep their type, embedded ones become text. */
export function resolveString(s: string, scope: TemplateScope): unknown {
  const whole = WHOLE.exec(s);
  if (whole) return resolveRef(parseRef(whole[1] ?? ''), scope);
  return s.replace(TEMPLATE, (_, expr: string) => asText(resolveRef(parseRef(expr), scope)));
}

/** A copy of `value` with every template resolved. Values without templates are shared, not copied. */
export function resolveTemplates(value: unknown, scope: TemplateScope): unknown {
  if (typeof value === 'string') return value.includes('{{') ? resolveString(value, scope) : value;
  if (Array.isArray(value)) return value.map((x) => resolveTemplates(x, scope));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(value)) out[k] = resolveTemplates(x, scope);
    return out;
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

/** Parses a `when` condition; throws with a usage hint when it is not one. */
export function parseCondition(condition: string): ParsedCondition {
  const m = /^\s*(!?)\s*(\{\{[^{}]*\}\})\s*(?:(==|!=|>=|<=|>|<)\s*(.+?))?\s*$/.exec(condition);
  if (!m) throw new Error(`bad condition "${condition}": write "{{step.output.ok}}" or "{{step.output.count}} > 3"`);
  const [, bang, template, op, literal] = m;
  let value: unknown = null;
  if (op) {
    try {
      value = JSON.parse(literal ?? '');
    } catch {
      throw new Error(`bad condition "${condition}": the right side must be JSON (a number, true/false/null, or "quoted text")`);
    }
  }
  parseRef(WHOLE.exec(template ?? '')?.[1] ?? '');
  return { negate: bang === '!', template: template ?? '', op: (op as ParsedCondition['op']) ?? null, literal: value };
}
