/**
 * `codomyrmex run artifacts RUN_ID [--get STEP/NAME]... [--out DIR]`: the files a run's steps stored, listed with
 * their sizes, and downloaded (one, several, or all with `--out`) from whichever artifact store holds them (this
 * folder's engine, or the daemon's: its folder or the JetStream Object Store), in chunks over the bus, each file
 * checked against its SHA-256 before it is put in place.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { NotFoundError, StoreError, ValidationError } from '../../errors.js';
import type { RunArtifact } from '../../model/artifacts.js';
import type { CliContext } from './context.js';
import { printTable } from './format.js';
import type { CliEngine } from './remote.js';

/** A size for people: `812 B`, `12.3 KiB`, `4.1 MiB`. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Where a downloaded artifact goes: `<out>/<step>/<file>` (several steps may each have a `report.md`), each part
 * made safe by `safeSegment` (the model's, loaded with the command).
 */
function target(out: string, a: RunArtifact, safeSegment: (name: string) => string): string {
  const file = a.name.includes('/')
    ? `${safeSegment(a.name.replace(/\//g, '_'))}-${safeSegment(a.file)}`
    : safeSegment(a.file);
  return join(out, safeSegment(a.step), file);
}

/** Downloads one artifact chunk by chunk into `dest` (through a temp file), checking its size and digest. */
async function download(engine: CliEngine, runId: string, a: RunArtifact, dest: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.part`;
  const file = await open(tmp, 'w');
  const hash = createHash('sha256');
  let offset = 0;
  try {
    for (;;) {
      const chunk = await engine.readArtifact(runId, a.step, a.name, offset);
      const data = Buffer.from(chunk.data, 'base64');
      await file.write(data);
      hash.update(data);
      offset += data.length;
      if (chunk.eof) break;
      if (data.length === 0)
        throw new StoreError(`artifact "${a.name}" of step "${a.step}" ended early at ${offset} of ${a.size} bytes`);
    }
    await file.close();
    const digest = hash.digest('hex');
    if (offset !== a.size || digest !== a.digest)
      throw new StoreError(
        `artifact "${a.name}" of step "${a.step}" arrived damaged (${offset} bytes, sha256 ${digest}; the run recorded ${a.size} bytes, ${a.digest}); nothing was written`,
      );
    await rename(tmp, dest);
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}

/** `--get STEP/NAME` → the artifact it names (the name may hold `/`: `each/0/svg`). */
function pick(all: RunArtifact[], runId: string, spec: string): RunArtifact {
  const slash = spec.indexOf('/');
  if (slash <= 0) throw new ValidationError(`--get: must be STEP/NAME, e.g. chart/svg (got "${spec}")`);
  const step = spec.slice(0, slash);
  const name = spec.slice(slash + 1);
  const found = all.find((a) => a.step === step && a.name === name);
  if (!found) {
    const have = all.map((a) => `${a.step}/${a.name}`).join(', ') || 'none';
    throw new NotFoundError(`run ${runId} has no artifact "${spec}" (it has: ${have})`);
  }
  return found;
}

export function registerArtifactCommands(run: Command, cli: CliContext): void {
  run
    .command('artifacts')
    .description("list the files a run's steps stored (artifacts) with their sizes, or download them")
    .argument('<run-id>', 'the run id (see "workflow runs")')
    .option(
      '--get <step/name>',
      'download this artifact (repeat for several); with --out and no --get: all of them',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--out <dir>', 'where downloads go, as <dir>/<step>/<file> (default: this folder)')
    .addHelpText(
      'after',
      '\nExamples:\n  codomyrmex run artifacts 3f2a...                       list them\n  codomyrmex run artifacts 3f2a... --get chart/svg       into ./chart/ai-analysis.svg\n  codomyrmex run artifacts 3f2a... --out results         every artifact, under results/',
    )
    .action(async (runId: string, opts: { get?: string[]; out?: string }) => {
      const [{ runArtifacts }, { safeSegment }] = await Promise.all([
        import('../../actors/engine/artifacts.js'),
        import('../../model/artifacts.js'),
      ]);
      const r = await cli.withAnyEngine(async (e) => {
        const found = await e.workflows.getRun(runId);
        if (!found) throw new NotFoundError(`no run "${runId}"; see "codomyrmex workflow runs"`);
        const all = runArtifacts(found);
        const wanted = opts.get?.length ? opts.get.map((g) => pick(all, runId, g)) : opts.out !== undefined ? all : [];
        const out = resolve(opts.out ?? '.');
        const written: (RunArtifact & { path: string })[] = [];
        for (const a of wanted) {
          const dest = target(out, a, safeSegment);
          await download(e, runId, a, dest);
          written.push({ ...a, path: dest });
        }
        return { runId, artifacts: all, downloaded: written };
      });
      cli.out(r, (x) => {
        if (x.downloaded.length) {
          for (const d of x.downloaded) console.log(`${d.step}/${d.name} (${bytes(d.size)}) -> ${d.path}`);
          return;
        }
        if (!x.artifacts.length) return console.log(`run ${runId} stored no artifacts`);
        printTable(
          x.artifacts.map((a) => ({
            step: a.step,
            name: a.name,
            file: a.file,
            size: bytes(a.size),
            sha256: a.digest.slice(0, 12),
          })),
        );
        console.log(`\ndownload: codomyrmex run artifacts ${runId} --get STEP/NAME [--out DIR]`);
      });
    });
}
