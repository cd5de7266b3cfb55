/**
 * The common, plain workflow step checked without zod: `name`, `module`, `action` and optionally `dependencies`
 * and `parameters`, each well formed. zod's object parse is ~40 µs a step, most of a 100,000-step definition's
 * validation; this is a few. Anything else (another field, a value of the wrong type, a name zod would refuse)
 * returns null and takes the schema path, which also writes the error messages. What it returns is what
 * `workflowStepSchema.parse` returns for the same input: fresh objects, keys in the schema's order.
 */
import { LIMITS, RESERVED_NAMES } from '../model/limits.js';
import type { WorkflowStep } from '../model/workflow.js';

/** As `name` in `model/workflow.ts`: a module, action or step name. */
const NAME_RE = /^[A-Za-z_][\w-]*$/;
const PLAIN_KEYS: ReadonlySet<string> = new Set(['name', 'module', 'action', 'dependencies', 'parameters']);

const isName = (v: unknown): v is string => typeof v === 'string' && NAME_RE.test(v);

/** `rs` as the step schema would parse it, or null when only the schema may say (unusual or invalid). */
export function fastStep(rs: unknown): WorkflowStep | null {
  if (typeof rs !== 'object' || rs === null || Array.isArray(rs)) return null;
  const proto: unknown = Object.getPrototypeOf(rs);
  if (proto !== Object.prototype && proto !== null) return null;
  const r = rs as Record<string, unknown>;
  // zod walks own and inherited enumerable keys: a plain object has no inherited ones.
  for (const k in r) if (!PLAIN_KEYS.has(k) || r[k] === undefined) return null;
  const { name, module, action, dependencies, parameters } = r;
  if (!isName(name) || name.length > LIMITS.maxStepNameLength || RESERVED_NAMES.has(name)) return null;
  if (!isName(module) || !isName(action)) return null;
  const step: WorkflowStep = { name, module, action };
  if (dependencies !== undefined) {
    if (!Array.isArray(dependencies)) return null;
    const deps = new Array<string>(dependencies.length);
    for (let i = 0; i < dependencies.length; i++) {
      const d: unknown = dependencies[i];
      if (typeof d !== 'string') return null;
      deps[i] = d;
    }
    step.dependencies = deps;
  }
  if (parameters !== undefined) {
    if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) return null;
    const pp: unknown = Object.getPrototypeOf(parameters);
    if (pp !== Object.prototype && pp !== null) return null;
    const copy: Record<string, unknown> = {};
    // zod's record copy leaves `__proto__` out; the schema path reports and handles it.
    for (const k in parameters) {
      if (k === '__proto__') return null;
      copy[k] = (parameters as Record<string, unknown>)[k];
    }
    step.parameters = copy;
  }
  return step;
}
