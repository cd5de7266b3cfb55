/**
 * The stored workflow definitions, every version of each: validated when created (the same definition again is a
 * no-op, a changed one the next version), found by name (with `-` and `_` folded), listed and deleted, and written
 * to the store as they change.
 */
import type { WorkflowSummary } from '../../bus/protocol.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import { didYouMean } from '../../model/validate.js';
import type { StoredWorkflow } from '../../model/workflow.js';
import type { ModuleRegistry } from '../../modules/registry.js';
import { complexToDefinition } from '../../workflows/complex.js';
import type { ValidationContext } from '../../workflows/validate.js';
import { calledWorkflows, validateWorkflow } from '../../workflows/validate.js';
import { toJson } from '../../store/json.js';
import type { RecordWrite } from '../../store/store.js';

/** Definitions as the store encodes them, each encoded once (a 100,000-step definition is ~10 MB of JSON). */
const encoded = new WeakMap<StoredWorkflow, string>();

/**
 * `wf` as the store encodes it (`toJson(wf, true)`), computed once per definition: a stored definition does not
 * change, and its record and every record of a run of it hold it.
 */
export function definitionJson(wf: StoredWorkflow): string {
  let json = encoded.get(wf);
  if (json === undefined) encoded.set(wf, (json = toJson(wf, true)));
  return json;
}

export class WorkflowDefinitions {
  readonly #versions = new Map<string, StoredWorkflow[]>();
  readonly #registry: ModuleRegistry;
  readonly #now: () => number;
  readonly #checks: ValidationContext;
  readonly #persist: (id: string, record: RecordWrite | (() => RecordWrite)) => void;

  /** `persist` writes a definition's record (`workflow_definitions`, or its deletion); a function is called at the commit. */
  constructor(
    registry: ModuleRegistry,
    now: () => number,
    checkResources: ValidationContext['checkResources'],
    persist: (id: string, record: RecordWrite | (() => RecordWrite)) => void,
  ) {
    this.#registry = registry;
    this.#now = now;
    this.#persist = persist;
    this.#checks = {
      checkResources,
      workflows: {
        names: () => this.#versions.keys(),
        calls: (name) => {
          const wf = this.get(name);
          return wf ? calledWorkflows(wf.steps) : null;
        },
      },
    };
  }

  /** Puts back the definitions a previous engine stored (in the order they were created). */
  restore(definitions: readonly StoredWorkflow[]): void {
    for (const wf of definitions) {
      const versions = this.#versions.get(wf.name) ?? [];
      versions.push(wf);
      this.#versions.set(wf.name, versions);
    }
  }

  /**
   * Validates and stores a definition. The same definition again is a no-op; a changed one becomes a new version
   * (the next number, unless the definition names its version).
   */
  create(
    definition: unknown,
    source: string | null = null,
  ): { workflow: StoredWorkflow; created: boolean; warnings: string[] } {
    const v = validateWorkflow(definition, this.#registry, this.#now(), this.#checks);
    if (!v.workflow) throw new ValidationError(v.errors);
    const wf = { ...v.workflow, source };
    const versions = this.#versions.get(wf.name) ?? [];
    const latest = versions[versions.length - 1];
    if (latest && latest.hash === wf.hash && (wf.version === '' || wf.version === latest.version)) {
      return { workflow: latest, created: false, warnings: v.warnings };
    }
    if (wf.version !== '') {
      const clash = versions.find((x) => x.version === wf.version);
      if (clash) {
        if (clash.hash === wf.hash) return { workflow: clash, created: false, warnings: v.warnings };
        throw new ValidationError(
          `workflow "${wf.name}": version "${wf.version}" already exists with a different definition; give the new definition another version`,
        );
      }
    } else {
      const numeric = versions.map((x) => Number(x.version)).filter((n) => Number.isInteger(n));
      wf.version = String(numeric.length ? Math.max(...numeric) + 1 : versions.length + 1);
    }
    versions.push(wf);
    this.#versions.set(wf.name, versions);
    // Encoded at the commit, once: a run of it reuses the encoding (runRecords.ts).
    const id = `${wf.name}@${wf.version}`;
    this.#persist(id, () => ({
      kind: 'workflow_definitions',
      id,
      parent: wf.name,
      status: 'active',
      data: wf,
      json: definitionJson(wf),
    }));
    return { workflow: wf, created: true, warnings: v.warnings };
  }

  validate(definition: unknown): { valid: boolean; errors: string[]; warnings: string[] } {
    const v = validateWorkflow(definition, this.#registry, this.#now(), this.#checks);
    return { valid: v.valid, errors: v.errors, warnings: v.warnings };
  }

  /**
   * An ad hoc definition (the seed's `execute_complex_workflow`): `{ steps, dependencies: { step: [deps] },
   * parallelGroups }`, snake_case accepted, validated like any workflow but not stored as one.
   */
  adHoc(definition: unknown): { workflow: StoredWorkflow; warnings: string[] } {
    const v = validateWorkflow(complexToDefinition(definition), this.#registry, this.#now(), this.#checks);
    if (!v.workflow) throw new ValidationError(v.errors);
    return { workflow: { ...v.workflow, version: v.workflow.version || 'adhoc' }, warnings: v.warnings };
  }

  /**
   * A workflow by name; when no name matches exactly, the one name that matches with `-` and `_` folded (the seed's
   * `ai_analysis` finds the shipped `ai-analysis`, as Python package names match).
   */
  get(name: string, version?: string): StoredWorkflow | null {
    let versions = this.#versions.get(name);
    if (!versions) {
      const fold = (n: string): string => n.replace(/-/g, '_');
      const hits = [...this.#versions.keys()].filter((n) => fold(n) === fold(name));
      versions = hits.length === 1 && hits[0] !== undefined ? this.#versions.get(hits[0]) : undefined;
    }
    if (!versions) return null;
    if (version === undefined) return versions[versions.length - 1] ?? null;
    return versions.find((v) => v.version === version) ?? null;
  }

  /** A workflow by name (and version), or a `NotFoundError` naming the versions there are or the closest name. */
  require(name: string, version?: string): StoredWorkflow {
    const wf = this.get(name, version);
    if (wf) return wf;
    const latest = this.get(name);
    if (latest) {
      throw new NotFoundError(
        `workflow "${latest.name}" has no version "${version}"; versions: ${this.#versions
          .get(latest.name)
          ?.map((v) => v.version)
          .join(', ')}`,
      );
    }
    const hint = didYouMean(name, this.#versions.keys());
    throw new NotFoundError(
      `no workflow named "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; create it first or list them with listWorkflows()`,
    );
  }

  list(): WorkflowSummary[] {
    return [...this.#versions.values()].map((versions) => {
      const wf = versions[versions.length - 1] as StoredWorkflow;
      return {
        name: wf.name,
        description: wf.description,
        version: wf.version,
        versions: versions.map((v) => v.version),
        hash: wf.hash,
        steps: wf.steps.length,
        source: wf.source,
        createdAt: wf.createdAt,
      };
    });
  }

  delete(name: string): { deleted: boolean } {
    const versions = this.#versions.get(name) ?? [];
    for (const v of versions) {
      const id = `${name}@${v.version}`;
      this.#persist(id, { kind: 'workflow_definitions', id, delete: true });
    }
    return { deleted: this.#versions.delete(name) };
  }
}
