/**
 * Combining a run's shards: every results*.jsonl against the manifest's trial list. Says which trials
 * finished, which failed (diverged, out of memory) and which are missing (a shard still running, killed,
 * or never started), and rewrites summary.csv from all of them.
 */
import path from 'node:path';
import type { ResultRow } from '../results/rows.js';
import { readManifest } from '../results/manifest.js';
import { readRows, writeFileAtomic } from '../results/store.js';
import { finalRows, summaryCsv } from '../results/summary.js';

export interface TrialRef {
  id: string;
  label: string;
  dataset: string;
  seed: number;
}

export interface MergeResult {
  trials: number;
  finished: TrialRef[];
  failed: (TrialRef & { status: string; error?: string })[];
  missing: TrialRef[];
  /** Result rows in the files whose trial the manifest does not list (another suite's). */
  strays: number;
  rows: ResultRow[];
}

export function mergeRun(runDir: string, warn: (m: string) => void = () => {}): MergeResult {
  const manifest = readManifest(runDir);
  if (!manifest) throw new Error(`${runDir} is not a run directory (no manifest.json)`);
  const { trials } = manifest;
  const rows = readRows(runDir, warn);
  const finals = new Map(finalRows(rows).map((r) => [r.trial_id, r]));
  const known = new Set(trials.map((t) => t.id));
  const result: MergeResult = {
    trials: trials.length,
    finished: [],
    failed: [],
    missing: [],
    strays: rows.filter((r) => !known.has(r.trial_id)).length,
    rows,
  };
  for (const t of trials) {
    const f = finals.get(t.id);
    const ref = { id: t.id, label: t.label, dataset: t.dataset, seed: t.seed };
    if (!f) result.missing.push(ref);
    else if (f.status !== 'ok') result.failed.push({ ...ref, status: f.status, error: f.error });
    else result.finished.push(ref);
  }
  writeFileAtomic(path.join(runDir, 'summary.csv'), summaryCsv(rows));
  return result;
}
