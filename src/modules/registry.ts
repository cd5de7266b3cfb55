import { readdir } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NotFoundError, ValidationError } from '../errors.js';
import { didYouMean, formatZodIssues } from '../model/validate.js';
import type { ActionDefinition, ActionModule } from './contract.js';
import charts from './charts.js';
import core from './core.js';
import documentation from './documentation.js';
import environment from './environment.js';
import fs from './fs.js';
import git from './git.js';
import http from './http.js';
import insights from './insights.js';
import { paramsJsonSchema } from './schema.js';
import shell from './shell.js';
import staticAnalysis from './staticAnalysis.js';

/** The modules that ship with codomyrmex. */
export const BUILTIN_MODULES: readonly ActionModule[] = [
  core,
  staticAnalysis,
  insights,
  environment,
  charts,
  shell,
  fs,
  http,
  git,
  documentation,
];

/** What `modules list` and MCP show of an action: its description, parameters as JSON Schema, and its output. */
export interface ActionDescription {
  module: string;
  action: string;
  description: string;
  output: string;
  /** JSON Schema (draft 7) of the parameters, derived from the action's zod schema. */
  params: Record<string, unknown>;
}

/**
 * Maps `module.action` to its definition. Built once per thread: the main thread uses it to validate tasks, each
 * worker to run them. User modules load only from the folders given.
 */
export class ModuleRegistry {
  readonly #modules = new Map<string, ActionModule>();

  constructor(modules: readonly ActionModule[] = BUILTIN_MODULES) {
    for (const m of modules) this.register(m);
  }

  /** Loads every `.js`/`.mjs` file of each folder; each must default-export a module. */
  static async load(moduleDirs: readonly string[]): Promise<ModuleRegistry> {
    const registry = new ModuleRegistry();
    for (const dir of moduleDirs) {
      const abs = resolve(dir);
      let files: string[];
      try {
        files = (await readdir(abs)).filter((f) => ['.js', '.mjs'].includes(extname(f))).sort();
      } catch (cause) {
        throw new ValidationError(`moduleDirs: cannot read module folder "${abs}" (${(cause as Error).message})`, {
          cause,
        });
      }
      for (const file of files) {
        const path = join(abs, file);
        let loaded: { default?: unknown };
        try {
          loaded = (await import(pathToFileURL(path).href)) as { default?: unknown };
        } catch (cause) {
          throw new ValidationError(
            `module file ${path}: failed to load: ${cause instanceof Error ? cause.message : String(cause)}`,
            { cause },
          );
        }
        registry.register(checkModule(loaded.default, path));
      }
    }
    return registry;
  }

  /** Adds a module; a second module of the same name is a `ValidationError`. */
  register(module: ActionModule): void {
    if (this.#modules.has(module.name))
      throw new ValidationError(`module "${module.name}" is defined twice; rename one of them`);
    this.#modules.set(module.name, module);
  }

  /** The action, or a `NotFoundError` with a did-you-mean. */
  resolve(moduleName: string, actionName: string): ActionDefinition<never> {
    const mod = this.#modules.get(moduleName);
    if (!mod) {
      const hint = didYouMean(moduleName, this.#modules.keys());
      throw new NotFoundError(
        `unknown module "${moduleName}"${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${[...this.#modules.keys()].join(', ')}`,
      );
    }
    const action = Object.hasOwn(mod.actions, actionName) ? mod.actions[actionName] : undefined;
    if (!action) {
      const hint = didYouMean(actionName, Object.keys(mod.actions));
      throw new NotFoundError(
        `unknown action "${moduleName}.${actionName}"${hint ? ` (did you mean "${moduleName}.${hint}"?)` : ''}`,
      );
    }
    return action;
  }

  /** Checks parameters against the action's schema; returns the parsed parameters or throws a `ValidationError`. */
  parseParams(moduleName: string, actionName: string, params: unknown, where = 'parameters'): unknown {
    const action = this.resolve(moduleName, actionName);
    const parsed = action.params.safeParse(params);
    if (!parsed.success) throw new ValidationError(formatZodIssues(parsed.error, where));
    return parsed.data;
  }

  /**
   * Every action (or those of one module) with its parameter JSON Schema and output description.
   *
   * @example
   * new ModuleRegistry().describe('shell')[0]?.params.properties // { command: { type: 'string', ... }, ... }
   */
  describe(moduleName?: string): ActionDescription[] {
    const out: ActionDescription[] = [];
    for (const m of this.#modules.values()) {
      if (moduleName !== undefined && m.name !== moduleName) continue;
      for (const [name, a] of Object.entries(m.actions)) {
        out.push({
          module: m.name,
          action: name,
          description: a.description ?? '',
          output: a.output ?? '',
          params: paramsJsonSchema(a.params),
        });
      }
    }
    if (moduleName !== undefined && out.length === 0) this.resolve(moduleName, '');
    return out;
  }

  /** `module.action` names with their descriptions. */
  list(): { module: string; action: string; description: string }[] {
    const out: { module: string; action: string; description: string }[] = [];
    for (const m of this.#modules.values()) {
      for (const [name, a] of Object.entries(m.actions))
        out.push({ module: m.name, action: name, description: a.description ?? '' });
    }
    return out;
  }
}

function checkModule(value: unknown, path: string): ActionModule {
  const m = value as Partial<ActionModule> | undefined;
  if (!m || typeof m.name !== 'string' || typeof m.actions !== 'object' || m.actions === null) {
    throw new ValidationError(
      `${path}: a module file must default-export { name, actions } (use defineModule from "codomyrmex")`,
    );
  }
  for (const [name, a] of Object.entries(m.actions)) {
    if (typeof a.run !== 'function' || typeof a.params?.safeParse !== 'function') {
      throw new ValidationError(`${path}: action "${m.name}.${name}" needs a zod "params" schema and a "run" function`);
    }
  }
  return m as ActionModule;
}
