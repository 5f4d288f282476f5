/**
 * Results on disk, never half-written: whole files are written to a temporary name and renamed; rows are
 * appended one line per write(2) call and fsynced, so a killed run loses at most the row in flight, and a
 * torn last line (power loss) is skipped with a warning. Each writer (a run, or one shard of it) has its
 * own results file; readers take them all.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ResultRow } from './rows.js';

export function writeFileAtomic(file: string, content: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function appendRow(file: string, row: ResultRow): void {
  const fd = fs.openSync(file, 'a');
  try {
    fs.writeSync(fd, `${JSON.stringify(row)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
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
        if (!last) throw new Error(`${file}:${i + 1} is not a JSON row; the file is corrupt (a row was edited or two writers shared it)`);
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
