/**
 * The projects a project manager holds: in memory, one command at a time per project, each change written to the
 * project's manifest and then to the store (through the engine's group committer), and the `milestone_completed`
 * events of the milestones a change completed.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MessageBus } from '../../bus/bus.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { Project } from '../../model/project.js';
import { milestoneProgress } from '../../model/project.js';
import { didYouMean } from '../../model/validate.js';
import type { GroupCommitter } from '../../store/commits.js';
import { RecordQueue } from '../../store/commits.js';
import type { Store } from '../../store/store.js';
import { MANIFEST, manifestText } from './create.js';

export interface ProjectStateDeps {
  bus: MessageBus;
  store?: Store | undefined;
  commits?: GroupCommitter | undefined;
  /** Strict durability: a change is answered only once it is on disk. */
  ackOnCommit?: boolean | undefined;
  now: () => number;
}

export class ProjectState {
  readonly #deps: ProjectStateDeps;
  readonly #projects = new Map<string, Project>();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #records: RecordQueue | null;

  constructor(deps: ProjectStateDeps) {
    this.#deps = deps;
    this.#records = deps.commits && deps.store?.persistent === true ? new RecordQueue(deps.commits) : null;
  }

  /** Loads the projects from the store (none without a durable one) and returns them. */
  load(): Project[] {
    const store = this.#deps.store;
    if (!store?.persistent) return [];
    const loaded = store.listRecords<Project>('projects').map((r) => r.data);
    for (const p of loaded) this.#projects.set(p.name, p);
    return loaded;
  }

  get(name: string): Project | undefined {
    return this.#projects.get(name);
  }

  all(): IterableIterator<Project> {
    return this.#projects.values();
  }

  get size(): number {
    return this.#projects.size;
  }

  /** Runs `fn` after the commands already queued on project `name`. */
  serial<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.#locks.set(name, tail);
    void tail.then(() => {
      if (this.#locks.get(name) === tail) this.#locks.delete(name);
    });
    return next;
  }

  require(name: unknown): Project {
    if (typeof name !== 'string' || name === '') throw new ValidationError('name: give the name of a project');
    const p = this.#projects.get(name);
    if (p) return p;
    const hint = didYouMean(name, this.#projects.keys());
    throw new NotFoundError(
      `no project named "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; create it with createProject({ name, templateName }) or list them with listProjects()`,
    );
  }

  requireActive(name: unknown, doing: string): Project {
    const p = this.require(name);
    if (p.status === 'archived') throw new ValidationError(`project "${p.name}" is archived; it cannot ${doing}`);
    return p;
  }

  /** Stores a changed project: manifest first (so a failing disk changes nothing), then memory and the store. */
  async save(next: Project, manifest: 'required' | 'best-effort' = 'required'): Promise<Project> {
    try {
      const file = join(next.path, MANIFEST);
      const partial = `${file}.partial`;
      await writeFile(partial, manifestText(next));
      await rename(partial, file);
    } catch (err) {
      if (manifest === 'required')
        throw new ValidationError(
          `project "${next.name}": cannot write its manifest ${join(next.path, MANIFEST)} (${(err as Error).message}); is its folder still there?`,
          { cause: err },
        );
    }
    this.add(next);
    return this.acked(next);
  }

  /** Holds the project and writes it to the store at the next commit (its manifest is the caller's). */
  add(p: Project): void {
    this.#projects.set(p.name, p);
    this.#records?.write('projects', p.name, {
      kind: 'projects',
      id: p.name,
      parent: p.template,
      status: p.status,
      data: p,
    });
  }

  /** Forgets the project, in memory and in the store. */
  forget(name: string): void {
    this.#projects.delete(name);
    this.#records?.write('projects', name, { kind: 'projects', id: name, delete: true });
  }

  /** `value` once the changes so far are durable (strict), or at once. */
  acked<T>(value: T): Promise<T> {
    const commits = this.#deps.commits;
    return this.#deps.ackOnCommit && commits && this.#records ? commits.afterCommit(value) : Promise.resolve(value);
  }

  /** Announces the milestones of `p` named in `names` as completed (`byRun`: the run that completed them). */
  announce(p: Project, names: string[], byRun: string | null): void {
    const progress = milestoneProgress(p.milestones).fraction;
    for (const m of names) {
      const done = p.milestones.find((x) => x.name === m);
      this.#deps.bus.publish('milestone_completed', {
        project: p.name,
        milestone: m,
        completedAt: done?.completedAt ?? this.#deps.now(),
        progress,
        byRun,
      });
    }
  }
}
