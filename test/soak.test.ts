/**
 * A long suite in one process: 50 short trials of five methods (their own state included: BYOL's target, SwAV's
 * prototypes and queue, MoCo's queue), run by the runner as `npm run bench` runs them. After every trial the
 * live tensors are back to their level before the first, the runner warns of no leak, and the process's
 * resident memory levels off instead of growing trial by trial.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backends/select.js';
import * as tf from '../engine/tf.js';
import { collectProvenance } from '../src/measure/provenance.js';
import { Progress } from '../src/runner/progress.js';
import { runSuite } from '../src/runner/run.js';
import { loadSuite } from '../src/runner/suite.js';
import { expandTrials } from '../src/runner/trials.js';
import { TINY_EVALUATION, writeTinySuite } from './helpers.js';

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-soak-'));
const METHODS = ['simclr', 'byol', 'swav', 'mocov2plus', 'vicreg'];
const SEEDS = 10;
// A full collection before each reading, without a flag on the command line.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('a long suite in one process', { timeout: 600_000 }, () => {
  it('frees every tensor of every trial and levels off in memory over 50 trials', async () => {
    const backend = await initBackend({ backend: 'auto' });
    const file = writeTinySuite(
      TMP,
      'soak',
      { ...TINY_EVALUATION, fractions: [1], maxTrainImages: 40, maxTestImages: 20, bag: { patches: [] }, testCost: { patches: [] } },
      { methods: METHODS.map((method) => ({ method, batchImages: 8 })), budgets: ['steps:3'], seeds: SEEDS },
    );
    const suite = loadSuite(file);
    const trials = expandTrials(suite);
    expect(trials).toHaveLength(METHODS.length * SEEDS);
    const logs: string[] = [];
    const sink = {
      write: (s: string) => {
        logs.push(s);
        return true;
      },
      isTTY: false,
    } as unknown as NodeJS.WriteStream;
    const tensorsBefore = tf.memory().numTensors;
    const after: { method: string; tensors: number; rssMiB: number }[] = [];
    const rows = await runSuite({
      suite,
      trials,
      runDir: path.join(TMP, 'run'),
      resume: false,
      provenance: await collectProvenance(backend),
      dataRoot: path.join(TMP, 'data'),
      progress: new Progress(sink),
      argv: [],
      shard: null,
      onTrialEnd: (trial, tensors) => {
        gc(); // what is garbage but not yet collected is not a leak
        after.push({ method: trial.method.method, tensors, rssMiB: process.memoryUsage().rss / 2 ** 20 });
      },
    });
    expect(rows.filter((r) => r.final && r.status === 'ok')).toHaveLength(trials.length);
    expect(after).toHaveLength(trials.length);
    expect(after.map((a) => a.tensors)).toEqual(after.map(() => tensorsBefore));
    expect(logs.join('')).not.toMatch(/left \d+ tensor\(s\) alive/);
    // The memory curve, for whoever reads the log: resident MiB after each trial.
    console.log(`resident MiB after each trial: ${after.map((a) => a.rssMiB.toFixed(0)).join(' ')}`);
    // Levelled off: trials run method by method (the sorted order); a method's memory reaches its level in its first
    // two trials (the wasm heap grows to the largest step and never shrinks), then jumps by up to ~100 MiB of
    // allocator noise either way. The floor of that noise is the level: the lowest reading over its last 5 trials
    // is within 16 MiB of the lowest over trials 3-5 (the leak this test found added ~10 MiB per trial).
    for (const method of METHODS) {
      const rss = after.filter((a) => a.method === method).map((a) => a.rssMiB);
      const rise = Math.min(...rss.slice(5)) - Math.min(...rss.slice(2, 5));
      expect(rise, `${method}: resident MiB ${rss.map((x) => x.toFixed(0)).join(' ')}`).toBeLessThan(16);
    }
  });
});
