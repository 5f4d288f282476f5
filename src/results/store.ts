/**
 * Results on disk, never half-written: whole files are written to a temporary name and renamed (the
 * temporary removed if the write fails); rows are appended one line per write and fsynced, and a failed
 * append is cut back off, so a killed run loses at most the row in flight. A torn last line (a kill or power
 * loss mid-write) is skipped by readers and cut away by `repairTornTail` before a run appends again. Each
 * writer (a run, or one shard of it) has its own results file; readers take them all.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CorruptFileError, storageError, writeAll } from './disk.js';
import type { ResultRow } from './rows.js';

/** Writes `content` (a string, or parts written one after another) to a temporary file renamed onto `file`. */
export function writeFileAtomic(file: string, content: string | (string | Uint8Array)[]): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      for (const part of typeof content === 'string' ? [content] : content) writeAll(fd, tmp, part);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    // A full disk stays full while the partial temporary is there.
    fs.rmSync(tmp, { force: true });
    throw storageError(e, file);
  }
}

/**
 * Removes the temporaries of writeFileAtomic in `dir` (those of `only`, when given, e.g. one shard's files) that
 * a killed process left behind, and returns their names: a partial checkpoint left on a full disk keeps it full.
 */
export function sweepTemporaries(dir: string, only: (file: string) => boolean = () => true): string[] {
  if (!fs.existsSync(dir)) return [];
  const stale = fs.readdirSync(dir).filter((f) => {
    const m = /^(.+)\.tmp-(\d+)$/.exec(f);
    return m !== null && Number(m[2]) !== process.pid && only(m[1]);
  });
  for (const f of stale) fs.rmSync(path.join(dir, f), { force: true });
  return stale;
}

export function appendRow(file: string, row: ResultRow): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'a');
  } catch (e) {
    throw storageError(e, file);
  }
  const size = fs.fstatSync(fd).size;
  try {
    writeAll(fd, file, `${JSON.stringify(row)}\n`);
    fs.fsyncSync(fd);
  } catch (e) {
    // Part of the row may be on disk: cut it off, so the file ends with a whole row.
    try {
      fs.ftruncateSync(fd, size);
    } catch {
      // The torn tail then stays for repairTornTail at the next start.
    }
    throw storageError(e, file);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Makes `file` end with a whole row before anything is appended to it: a torn last line is cut away (or, when
 * it is a whole row that lost only its newline, completed). Returns what was done, for a warning, or null.
 */
export function repairTornTail(file: string): string | null {
  if (!fs.existsSync(file)) return null;
  const text = fs.readFileSync(file);
  if (text.length === 0 || text[text.length - 1] === 0x0a) return null;
  const start = text.lastIndexOf(0x0a) + 1;
  let whole = true;
  try {
    JSON.parse(text.subarray(start).toString('utf8'));
  } catch {
    whole = false;
  }
  try {
    if (whole) fs.appendFileSync(file, '\n');
    else fs.truncateSync(file, start);
  } catch (e) {
    throw storageError(e, file);
  }
  if (whole) return `${file}: completed the last row, which had lost its newline`;
  return `${file}:${text.subarray(0, start).toString('utf8').split('\n').length}: removed a torn last row (${text.length - start} bytes; a write was interrupted)`;
}

export function resultFiles(runDir: string): string[] {
  if (!fs.existsSync(runDir)) return [];
  return fs
    .readdirSync(runDir)
    .filter((f) => /^results.*\.jsonl$/.test(f))
    .sort()
    .map((f) => path.join(runDir, f));
}

/** Every row of a run directory; a torn final line is reported through `warn` and skipped. */
export function readRows(runDir: string, warn: (message: string) => void = () => {}): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const file of resultFiles(runDir)) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        rows.push(JSON.parse(line) as ResultRow);
      } catch {
        const last = i >= lines.length - 2;
        if (!last)
          throw new CorruptFileError(
            `${file}:${i + 1} is not a JSON row; the file is corrupt (a row was edited, or two writers shared it): ` +
              `restore the line, or delete it (that evaluation point's row is then lost)`,
          );
        warn(`${file}:${i + 1}: skipped a torn last row (a write was interrupted)`);
      }
    });
  }
  return rows;
}

/** Trials with a final row (finished, diverged or out of memory): resume skips them. */
export function finishedTrials(rows: ResultRow[]): Set<string> {
  return new Set(rows.filter((r) => r.final).map((r) => r.trial_id));
}
