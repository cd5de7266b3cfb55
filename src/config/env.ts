/**
 * Reading the environment (`CODOMYRMEX_*`) for options: a variable that is unset or empty counts as not given, and a
 * bad value is a `ValidationError` naming the variable. {@link ENGINE_ENV} names the variable of each engine option
 * that has one, for `compileOptions` and for the daemon (where the variable wins over the config file).
 */
import { ValidationError } from '../errors.js';
import type { EngineOptions } from './options.js';

/** The environment variable of each engine option that has one. */
export const ENGINE_ENV = {
  threads: 'CODOMYRMEX_THREADS',
  batchDispatch: 'CODOMYRMEX_BATCH_DISPATCH',
  fireSchedules: 'CODOMYRMEX_FIRE_SCHEDULES',
  moduleDirs: 'CODOMYRMEX_MODULE_DIRS',
  workflowDirs: 'CODOMYRMEX_WORKFLOW_DIRS',
  projectsDir: 'CODOMYRMEX_PROJECTS_DIR',
  allowedProjectRoots: 'CODOMYRMEX_ALLOWED_PROJECT_ROOTS',
  templateDirs: 'CODOMYRMEX_TEMPLATE_DIRS',
  store: 'CODOMYRMEX_STORE',
  dataDir: 'CODOMYRMEX_DATA_DIR',
  dbPath: 'CODOMYRMEX_DB',
  durability: 'CODOMYRMEX_DURABILITY',
} as const satisfies Partial<Record<keyof EngineOptions, `CODOMYRMEX_${string}`>>;

/** The variable's value; undefined when it is unset or empty. */
export function envString(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

/** The variable as an integer; undefined when it is unset or empty. */
export function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = envString(env, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new ValidationError(`${name}: must be an integer (got "${raw}")`);
  return n;
}

/** The variable as a `:`-separated list (empty entries left out); undefined when it is unset or empty. */
export function envList(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  return envString(env, name)?.split(':').filter(Boolean);
}

/** `value` when it is one of `choices` (undefined when absent or empty); else an error naming `what` (a flag, a variable). */
export function oneOf<T extends string>(value: string | undefined, choices: readonly T[], what: string): T | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(choices as readonly string[]).includes(value))
    throw new ValidationError(`${what}: must be one of ${choices.join(', ')} (got "${value}")`);
  return value as T;
}

/** The variable when it is one of `choices`; undefined when it is unset or empty. */
export function envChoice<T extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  choices: readonly T[],
): T | undefined {
  return oneOf(envString(env, name), choices, name);
}
