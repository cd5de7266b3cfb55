/**
 * A busy engine killed with SIGKILL at random moments, again and again, on one SQLite database: each kill is
 * followed by a start that must succeed with every acknowledged task present. Automatic checkpoints every few WAL
 * pages put many of the kills inside a checkpoint (where a kill once left a database the start guard refused for
 * good, see test/store/faults.test.ts). The child is test/fixtures/killLoopChild.ts, run from dist/: every tenth
 * life a whole engine, the others the engine's store alone (same open, guard and writer thread; an engine's start
 * costs ten times the CPU, and 200 of them would take minutes on a loaded 2-core machine).
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/index.js';
import { tempDirs } from './helpers.js';

const CHILD = fileURLToPath(new URL('../../dist/test/fixtures/killLoopChild.js', import.meta.url));
const KILLS = 200;
/** Two databases killed side by side: a child's start (mostly loading code) overlaps the other's busy time. */
const LANES = 2;
/** A checkpoint after nearly every commit (each commits several 16 KB tasks: the database grows all along). */
const WAL_PAGES = 8;

const dirs = tempDirs();
/** Set when a lane fails, so the others stop spawning. */
let stopped = false;
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
});
afterAll(() => dirs.cleanup());

interface Life {
  /** The first line that is not an acknowledgement: `started`, `start-failed …`, `missing …`. */
  verdict: string;
  acked: string[];
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** One child's life: started, left busy for `busyMs` after its first acknowledgement, then killed. */
function life(mode: 'engine' | 'store', db: string, checkFile: string, busyMs: number): Promise<Life> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, mode, db, checkFile, String(WAL_PAGES)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    const acked: string[] = [];
    let verdict = '';
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('acked ')) {
        if (acked.push(line.slice(6)) === 1) setTimeout(() => child.kill('SIGKILL'), busyMs);
      } else if (!verdict) verdict = line;
    });
    child.on('close', () => {
      children.delete(child);
      resolve({ verdict, acked, signal: child.signalCode, stderr });
    });
  });
}

/** Whether the main file is shorter than its header says (a kill inside a checkpoint that grew the database). */
function shortOfHeader(db: string): boolean {
  const header = Buffer.alloc(100);
  const fd = openSync(db, 'r');
  try {
    if (readSync(fd, header, 0, 100, 0) < 100) return false;
  } finally {
    closeSync(fd);
  }
  return statSync(db).size < header.readUInt32BE(28) * header.readUInt16BE(16);
}

/** Kills one database's engine `kills` times; returns every id acknowledged. */
async function killLoop(db: string, kills: number): Promise<{ acked: string[]; inCheckpoint: number }> {
  const checkFile = `${db}.acked`;
  const all: string[] = [];
  let previous: string[] = [];
  let inCheckpoint = 0;
  for (let k = 0; k < kills && !stopped; k++) {
    // The next life checks what the last one acknowledged (the final check below covers all of them).
    writeFileSync(checkFile, previous.join('\n'));
    const l = await life(k % 10 === 0 ? 'engine' : 'store', db, checkFile, Math.floor(Math.random() * 100));
    expect(l.verdict, `kill ${k}: ${l.stderr}`).toBe('started');
    expect(l.signal, `kill ${k}: ${l.stderr}`).toBe('SIGKILL');
    all.push(...l.acked);
    if (shortOfHeader(db)) inCheckpoint++;
    previous = l.acked;
  }
  // The start after the last kill.
  writeFileSync(checkFile, previous.join('\n'));
  const last = await life('engine', db, checkFile, 0);
  all.push(...last.acked);
  expect(last.verdict, last.stderr).toBe('started');
  return { acked: all, inCheckpoint };
}

describe('SIGKILL loop of a busy engine', () => {
  it(
    `survives ${KILLS} kills at random moments (checkpoints included): every start succeeds with every acknowledged task`,
    { timeout: 600_000 },
    async () => {
      const dbs = Array.from({ length: LANES }, (_, i) => join(dirs.make(`killloop-${i}`), 'state.db'));
      const results = await Promise.all(
        dbs.map((db) =>
          killLoop(db, KILLS / LANES).catch((err: unknown) => {
            stopped = true;
            throw err;
          }),
        ),
      );
      for (const [i, db] of dbs.entries()) {
        const { acked, inCheckpoint } = results[i]!;
        console.log(
          `${db}: ${acked.length} acknowledged, ${inCheckpoint} kills left the main file shorter than its header`,
        );
        expect(acked.length).toBeGreaterThanOrEqual(KILLS / LANES);
        const raw = new Database(db, { readonly: true });
        expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
        raw.close();
        const store = SqliteStore.open({ path: db, readonly: true });
        try {
          const missing = acked.filter((id) => !store.getTask(id));
          expect(missing).toEqual([]);
        } finally {
          store.close();
        }
      }
    },
  );
});
