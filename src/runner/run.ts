/**
 * A run: every trial of a suite, in its sorted order, into one run directory:
 *   manifest.json   provenance, the resolved suite, the trial list, accounting rules, each setting's departures
 *                   from its source (rewritten atomically; its versioned format: src/results/manifest.ts)
 *   results.jsonl   one row per trial x evaluation point, appended as each point finishes
 *   checkpoints/    one checkpoint per unfinished trial (removed when the trial ends)
 *   summary.csv     final rows, one per trial
 * With `resume`, trials that already have a final row are skipped and unfinished ones continue from
 * their last checkpoint. A diverged or out-of-memory trial is recorded and the run goes on.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '../../engine/tf.js';
import { TestCostCache } from '../eval/test_cost.js';
import { TRAINING_FLOPS_RULE } from '../../engine/flops.js';
import { MEMORY_NOTES, MemoryMonitor } from '../measure/memory.js';
import type { Provenance } from '../measure/provenance.js';
import type { ResultRow } from '../results/rows.js';
import { makeDirs, StorageError } from '../results/disk.js';
import { finishedTrials, readRows, repairTornTail, sweepTemporaries, writeFileAtomic } from '../results/store.js';
import { type Manifest, manifestPath, readManifest, writeManifest } from '../results/manifest.js';
import { latestRows, summaryCsv } from '../results/summary.js';
import type { Progress } from './progress.js';
import { canonicalJson, type Trial } from './trials.js';
import { runTrial } from './trial.js';
import { openDatasets } from './open_data.js';
import { shardName, shardTrials, type Shard } from './shard.js';
import type { Suite } from './suite.js';
import { describeDepartures } from './departures.js';
import { lockRun } from './run_lock.js';
import { originOf, provenanceChange } from '../results/origin.js';
import { METHODS } from '../../methods/registry.js';
import { AugmentPool } from '../../datasets/augment/augment_pool.js';

export interface RunOptions {
  suite: Suite;
  trials: Trial[];
  runDir: string;
  resume: boolean;
  provenance: Provenance;
  dataRoot: string;
  progress: Progress;
  argv: string[];
  /** This process's share of the trials (a Slurm array task), or null for all of them. */
  shard: Shard | null;
  /** Record per-layer update sizes in the rows (--log-updates). */
  logUpdates?: boolean;
  /** Worker threads cutting training crops ahead of the step (0, the default: on the training thread). */
  inputWorkers?: number;
  /** Resume a run written by another commit, tree or machine (its rows say which wrote them). */
  allowMixed?: boolean;
  /** Called after each trial with the number of live tensors (the soak test reads it). */
  onTrialEnd?: (trial: Trial, liveTensors: number) => void;
}

export class RunError extends Error {}

const SUITE_KEY = (suite: Suite | Manifest['suite']) => canonicalJson({ ...suite, file: null });

/**
 * Runs the suite; a write that fails (disk full, permissions) stops the run with a StorageError that says how
 * to continue: every row written before it is kept, and no partial file is left.
 */
export async function runSuite(o: RunOptions): Promise<ResultRow[]> {
  try {
    return await runTrials(o);
  } catch (e) {
    if (!(e instanceof StorageError)) throw e;
    const again = fs.existsSync(manifestPath(o.runDir))
      ? 'run the same command with --resume: the results written so far are kept'
      : 'run the same command again';
    throw new StorageError(e.file, e.code, `${e.message}; then ${again}`);
  }
}

async function runTrials(o: RunOptions): Promise<ResultRow[]> {
  // Taken before anything in the directory is read or swept (a live writer's temporaries are not stale); a new
  // directory is locked once it exists.
  const isDir = fs.existsSync(o.runDir) && fs.statSync(o.runDir).isDirectory();
  let lock = isDir ? lockRun(o.runDir, o.shard, o.argv, o.progress.log.bind(o.progress)) : null;
  try {
    return await runLocked(o, () => {
      lock ??= lockRun(o.runDir, o.shard, o.argv, o.progress.log.bind(o.progress));
    });
  } finally {
    lock?.release();
  }
}

async function runLocked(o: RunOptions, lockNewDir: () => void): Promise<ResultRow[]> {
  let previous: Manifest | null = null;
  if (fs.existsSync(manifestPath(o.runDir))) {
    // Shards of one array share the directory: each one finds the others' manifest.
    if (!o.resume && !o.shard) throw new RunError(`${o.runDir} already holds a run; add --resume to continue it, or choose another --out`);
    previous = readManifest(o.runDir)!;
    if (SUITE_KEY(previous.suite) !== SUITE_KEY(o.suite)) {
      throw new RunError(
        `${o.runDir} was started with a different suite or different overrides; resume it with the same flags, or choose another --out`,
      );
    }
    const change = provenanceChange(previous.provenance, o.provenance);
    if (change && !o.allowMixed)
      throw new RunError(
        `${o.runDir} was written ${change}; its rows and this process's would mix without a word. Run it from the ` +
          `same checkout on the same kind of machine, choose another --out, or add --allow-mixed (the summary and the report then say which rows came from where)`,
      );
    if (change) o.progress.log(`warning: --allow-mixed: this run now mixes rows: it was written ${change}`);
  }
  // Before anything is written: on a disk that a killed run filled, the sweep is what frees the space.
  const mine = shardTrials(o.trials, o.shard);
  sweepStaleFiles(o, mine);
  // Each writer appends to its own file (no two processes share one, whatever the file system).
  const resultsFile = path.join(o.runDir, o.shard ? `results.${shardName(o.shard)}.jsonl` : 'results.jsonl');
  const warn = (m: string) => o.progress.log(`warning: ${m}`);
  const repaired = repairTornTail(resultsFile);
  if (repaired) warn(repaired);
  const existing = latestRows(readRows(o.runDir, warn));
  const finished = finishedTrials(existing);
  const todo = mine.filter((t) => !finished.has(t.id));
  const targets = await openDatasets(todo, o.suite.evaluation, o.dataRoot);

  const checkpointDir = path.join(o.runDir, 'checkpoints');
  makeDirs(checkpointDir);
  lockNewDir();
  const manifest = writeManifest(o.runDir, {
    run_id: path.basename(o.runDir),
    started: previous?.started ?? new Date().toISOString(),
    last_started: new Date().toISOString(),
    argv: o.argv,
    suite: o.suite,
    trials: o.trials.map((t) => ({
      id: t.id,
      label: t.method.label,
      dataset: t.dataset,
      backbone: t.backbone,
      budget: t.budget,
      seed: t.seed,
    })),
    provenance: o.provenance,
    rules: {
      training_flops: TRAINING_FLOPS_RULE,
      memory: MEMORY_NOTES,
      time: 'training wall-clock from before data reading to the device sync ending each step; evaluation off the clock',
    },
    departures: Object.fromEntries(o.suite.methods.map((m) => [m.label, describeDepartures(m, o.suite.controls.batchImages)])),
    method_order: Object.keys(METHODS),
  });
  if (o.shard) {
    // Per-task provenance (node, GPU, Slurm array ids), one file per shard.
    fs.mkdirSync(path.join(o.runDir, 'manifests'), { recursive: true });
    writeFileAtomic(
      path.join(o.runDir, 'manifests', `${shardName(o.shard)}.json`),
      `${JSON.stringify({ shard: o.shard, started: manifest.last_started, argv: o.argv, provenance: o.provenance }, null, 2)}\n`,
    );
  }

  if (o.shard) o.progress.log(`${shardName(o.shard)}: ${mine.length} of ${o.trials.length} trials`);
  if (mine.length > todo.length) o.progress.log(`resuming: ${mine.length - todo.length} of ${mine.length} trials already finished`);

  const origin = originOf(o.provenance);
  const memory = new MemoryMonitor();
  const testCosts = new TestCostCache();
  const augment = new AugmentPool(o.inputWorkers ?? 0);
  let tensorsBefore = tf.memory().numTensors;
  try {
    for (const trial of todo) {
      const data = targets.get(trial.dataset)!;
      const transfer = (o.suite.evaluation.transfer[trial.dataset] ?? []).map((name) => targets.get(name)!);
      const index = o.trials.indexOf(trial) + 1;
      await runTrial(trial, {
        runId: manifest.run_id,
        origin,
        resultsFile,
        checkpointDir,
        data,
        transfer,
        memory,
        progress: o.progress,
        index,
        total: o.trials.length,
        doneRows: existing.filter((r) => r.trial_id === trial.id),
        logUpdates: o.logUpdates,
        testCosts,
        augment,
      });
      fs.rmSync(path.join(checkpointDir, `${trial.id}.ckpt`), { force: true });
      const tensors = tf.memory().numTensors;
      // A trial frees all it made: what stays alive would pile up over a long suite.
      if (tensors > tensorsBefore)
        o.progress.log(`warning: ${trial.method.label} seed ${trial.seed} left ${tensors - tensorsBefore} tensor(s) alive (a leak)`);
      o.onTrialEnd?.(trial, tensors);
      tensorsBefore = tensors;
    }
  } finally {
    memory.stop();
    await augment.close();
  }
  const rows = readRows(o.runDir, warn);
  writeFileAtomic(path.join(o.runDir, 'summary.csv'), summaryCsv(rows));
  return rows;
}

/**
 * Removes the temporaries a killed process left in the run directory. A shard removes only its own (its
 * trials' checkpoints, its manifest): the others may be writing theirs at this moment.
 */
function sweepStaleFiles(o: RunOptions, mine: Trial[]): void {
  const ids = new Set(mine.map((t) => `${t.id}.ckpt`));
  const own = o.shard ? `${shardName(o.shard)}.json` : null;
  const removed = [
    ...sweepTemporaries(path.join(o.runDir, 'checkpoints'), (f) => ids.has(f)),
    ...sweepTemporaries(path.join(o.runDir, 'manifests'), (f) => own === null || f === own),
    ...(o.shard ? [] : sweepTemporaries(o.runDir)),
  ];
  if (removed.length > 0) o.progress.log(`removed ${removed.length} partial file(s) an interrupted run left: ${removed.join(', ')}`);
}
