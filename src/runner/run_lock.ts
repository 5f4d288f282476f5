/**
 * One writer per run directory (or per shard of it), for as long as it runs: a second process that would
 * append the same trials is refused, naming the holder. The lock is proper-lockfile's (an atomic mkdir of
 * `<key>.lock` whose mtime the holder refreshes); who holds it is written beside it in `<key>.holder.json`
 * (process id, host, start, command), since proper-lockfile's lock directory must stay empty.
 *
 * Keys: `writer` for a whole run, `writer.shard-i-of-n` for a shard. Shards of one array (same n, different i)
 * write their own files and may run together; any other pair on one directory conflicts. A lock whose holder is
 * gone is taken over with a message: at once when the holder ran on this host and its process is dead, else
 * when the holder has not refreshed it for STALE_MS (it died on another node). Readers (report, --plan, merge)
 * take no lock.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { writeFileAtomic } from '../results/store.js';
import type { Shard } from './shard.js';

/** A holder that has not refreshed its lock for this long is taken for dead (it refreshes every UPDATE_MS). */
const STALE_MS = 10 * 60_000;
const UPDATE_MS = 5_000;

export interface LockHolder {
  pid: number;
  host: string;
  started: string;
  argv: string[];
}

/** Another live process writes this run directory. */
export class RunLockedError extends Error {
  override name = 'RunLockedError';
}

export interface RunLock {
  /** Releases the lock (idempotent); an exit releases it too. */
  release(): void;
}

function writerKey(shard: Shard | null): string {
  return shard ? `writer.shard-${shard.index}-of-${shard.count}` : 'writer';
}

/** Two writers may share a directory only as different shards of one split. */
function compatible(a: string, b: string): boolean {
  const shard = (key: string) => /^writer\.shard-(\d+)-of-(\d+)$/.exec(key);
  const [x, y] = [shard(a), shard(b)];
  return x !== null && y !== null && x[2] === y[2] && x[1] !== y[1];
}

const lockDir = (runDir: string, key: string) => path.join(runDir, `${key}.lock`);
const holderFile = (runDir: string, key: string) => path.join(runDir, `${key}.holder.json`);

function readHolder(runDir: string, key: string): LockHolder | null {
  try {
    return JSON.parse(fs.readFileSync(holderFile(runDir, key), 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}

function describeHolder(h: LockHolder | null): string {
  if (!h) return 'a process whose holder file is missing';
  return `process ${h.pid} on ${h.host} (since ${h.started}: ${['npm run bench --', ...h.argv].join(' ')})`;
}

/** True when the holder ran on this host and its process no longer exists. */
function holderIsDeadHere(h: LockHolder | null): boolean {
  if (!h || h.host !== os.hostname() || h.pid === process.pid) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Whether the lock `key` is held by a live writer; a dead holder's lock on this host is removed first. */
function liveHolder(runDir: string, key: string, log: (message: string) => void): LockHolder | 'unknown' | null {
  const dir = lockDir(runDir, key);
  if (!fs.existsSync(dir)) return null;
  const holder = readHolder(runDir, key);
  if (holderIsDeadHere(holder)) {
    // The holder file first: a process that takes the lock after this writes its own.
    fs.rmSync(holderFile(runDir, key), { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
    log(`took over the lock of ${describeHolder(holder)}: that process is no longer running`);
    return null;
  }
  if (!lockfile.checkSync(holderFile(runDir, key), { lockfilePath: dir, stale: STALE_MS, realpath: false })) {
    log(`took over the lock of ${describeHolder(holder)}: not refreshed for ${STALE_MS / 60_000} minutes, so its process is gone`);
    return null;
  }
  return holder ?? 'unknown';
}

/**
 * Takes the run directory's writer lock for this process (a shard's, with `shard`), or throws RunLockedError
 * naming the live holder of a conflicting one. `runDir` must exist.
 */
export function lockRun(runDir: string, shard: Shard | null, argv: string[], log: (message: string) => void): RunLock {
  const key = writerKey(shard);
  const others = fs
    .readdirSync(runDir)
    .map((f) => /^(writer(?:\.shard-\d+-of-\d+)?)\.lock$/.exec(f)?.[1])
    .filter((k): k is string => k !== undefined && k !== key && !compatible(k, key));
  for (const other of [key, ...others]) {
    const holder = liveHolder(runDir, other, log);
    if (holder === null) continue;
    const who = holder === 'unknown' ? 'another process' : describeHolder(holder);
    throw new RunLockedError(
      `${runDir} is being written by ${who}; wait for it to end (or stop it) and then run with --resume, or choose another --out. ` +
        `If no such process runs, remove ${lockDir(runDir, other)}`,
    );
  }
  let releaseLock: () => void;
  try {
    releaseLock = lockfile.lockSync(holderFile(runDir, key), {
      lockfilePath: lockDir(runDir, key),
      stale: STALE_MS,
      update: UPDATE_MS,
      realpath: false,
      // A lock not refreshed in time (the event loop blocked for minutes) may have been taken over: say so and
      // go on; the default would throw from a timer and kill the run.
      onCompromised: (e) => log(`warning: the run directory's lock lapsed (${e.message}); another writer may have started`),
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    // Another process took it between the check and here.
    throw new RunLockedError(`${runDir} is being written by ${describeHolder(readHolder(runDir, key))}; choose another --out`);
  }
  const holder: LockHolder = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), argv };
  writeFileAtomic(holderFile(runDir, key), `${JSON.stringify(holder)}\n`);
  let held = true;
  const lock = {
    release() {
      if (!held) return;
      held = false;
      process.off('exit', lock.release);
      try {
        releaseLock();
      } catch {
        // Already released by the exit handler, or lapsed.
      }
      fs.rmSync(holderFile(runDir, key), { force: true });
    },
  };
  // Ctrl-C and errors end the process with process.exit: the holder file goes with the lock.
  process.on('exit', lock.release);
  return lock;
}
