/**
 * Scale-out: shards of a suite's trial list, and a real single-node Slurm running a 2-task array with the
 * shipped template (slurm/start-local-slurm.sh; CI installs Debian's slurmctld, slurmd, slurm-client and
 * munge). Skipped, saying why, only where Slurm cannot be started; under CI it must run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRows } from '../src/results/store.js';
import { latestRows } from '../src/results/summary.js';
import { parseShard, shardFromSlurm, shardTrials } from '../src/runner/shard.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

describe('shards', () => {
  it('split a list into n interleaved parts that cover it exactly once', () => {
    const items = Array.from({ length: 11 }, (_, i) => i);
    const parts = [1, 2, 3, 4].map((i) => shardTrials(items, { index: i, count: 4 }));
    expect(parts[0]).toEqual([0, 4, 8]);
    expect(parts[3]).toEqual([3, 7]);
    expect(parts.flat().sort((a, b) => a - b)).toEqual(items);
    expect(shardTrials(items, null)).toEqual(items);
  });

  it('parse --shard=i/n and reject nonsense', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/4', '5/4', '2', 'a/b', '1/0']) expect(() => parseShard(bad)).toThrow(/--shard must be i\/n/);
  });

  it('come from a Slurm array task, refusing arrays with gaps', () => {
    expect(shardFromSlurm({})).toBeNull();
    expect(
      shardFromSlurm({ SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_MIN: '5', SLURM_ARRAY_TASK_MAX: '8', SLURM_ARRAY_TASK_COUNT: '4' }),
    ).toEqual({ index: 3, count: 4 });
    expect(() =>
      shardFromSlurm({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '9', SLURM_ARRAY_TASK_COUNT: '3' }),
    ).toThrow(/ids 1-9 are not contiguous \(3 tasks\); submit --array=1-3/);
    expect(() =>
      shardFromSlurm({
        SLURM_ARRAY_TASK_ID: '3',
        SLURM_ARRAY_TASK_MIN: '1',
        SLURM_ARRAY_TASK_MAX: '5',
        SLURM_ARRAY_TASK_COUNT: '3',
        SLURM_ARRAY_TASK_STEP: '2',
      }),
    ).toThrow(/not contiguous/);
    expect(() => shardFromSlurm({ SLURM_ARRAY_TASK_ID: '3' })).toThrow(/pass --shard=i\/n/);
  });
});

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-slurm-test-'));
const DATA = path.join(TMP, 'data');
const SUITE = path.join(TMP, 'suite.json');
fs.writeFileSync(
  SUITE,
  JSON.stringify({
    name: 'tiny-slurm',
    methods: [
      { method: 'simclr', batchImages: 8 },
      { method: 'byol', batchImages: 8 },
    ],
    datasets: ['synthetic'],
    backbone: 'resnet-small',
    budgets: ['steps:2'],
    seeds: 2,
    evaluation: {
      fractions: [1],
      maxTrainImages: 40,
      maxTestImages: 20,
      linear: { iterations: 10, lr: 0.05 },
      bag: { patches: [] },
      testCost: { patches: [1], throughputCrops: 4 },
    },
  }),
);

/** Starts Slurm (or finds it running); null and a reason when it cannot. */
function startSlurm(): { state: string | null; reason: string | null } {
  const tools = spawnSync('sh', ['-c', 'command -v sbatch slurmctld slurmd munged mungekey'], { encoding: 'utf8' });
  if (tools.status !== 0) return { state: null, reason: 'Slurm is not installed (apt-get install slurmctld slurmd slurm-client munge)' };
  if (process.getuid?.() !== 0) return { state: null, reason: 'starting Slurm needs root' };
  const r = spawnSync(path.join(ROOT, 'slurm', 'start-local-slurm.sh'), { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return { state: null, reason: `slurm/start-local-slurm.sh failed: ${r.stderr}` };
  return { state: r.stdout.trim() || null, reason: null };
}

const slurm = startSlurm();
afterAll(() => {
  if (slurm.state) spawnSync(path.join(ROOT, 'slurm', 'stop-local-slurm.sh'), [slurm.state]);
});

const key = (r: { trial_id: string; point: number; steps: number; crops: number; status: string }) =>
  `${r.trial_id}/${r.point}/${r.steps}/${r.crops}/${r.status}`;

describe('on a real Slurm', () => {
  if (slurm.reason && process.env.CI) throw new Error(`CI must run the Slurm test: ${slurm.reason}`);
  it.skipIf(slurm.reason !== null)(
    `a 2-task array with the template gives the unsharded run's rows, merged and reported${slurm.reason ? ` (skipped: ${slurm.reason})` : ''}`,
    () => {
      const sharded = path.join(TMP, 'sharded');
      const submit = spawnSync(
        'sbatch',
        ['--wait', '--array=1-2', '--cpus-per-task=1', `--output=${TMP}/slurm-%A_%a.out`, '--export=ALL', 'slurm/bench.sbatch'],
        {
          cwd: ROOT,
          encoding: 'utf8',
          timeout: 600_000,
          env: { ...process.env, SUITE, RUN_DIR: sharded, REPO: ROOT, BENCH_ARGS: `--data-dir=${DATA}` },
        },
      );
      const logs = fs
        .readdirSync(TMP)
        .filter((f) => f.startsWith('slurm-'))
        .map((f) => fs.readFileSync(path.join(TMP, f), 'utf8'))
        .join('\n');
      expect(submit.status, `${submit.stderr}\n${logs}`).toBe(0);
      expect(logs).toMatch(/shard-1-of-2: 2 of 4 trials/);
      expect(logs).toMatch(/shard-2-of-2: 2 of 4 trials/);
      expect(
        fs
          .readdirSync(sharded)
          .filter((f) => f.startsWith('results'))
          .sort(),
      ).toEqual(['results.shard-1-of-2.jsonl', 'results.shard-2-of-2.jsonl']);
      const perTask = JSON.parse(fs.readFileSync(path.join(sharded, 'manifests', 'shard-2-of-2.json'), 'utf8'));
      expect(perTask.provenance.slurm.SLURM_ARRAY_TASK_ID).toBeDefined();
      expect(perTask.provenance.slurm.SLURMD_NODENAME).toBeDefined();

      const merged = spawnSync(TSX, ['bench/bench.ts', 'merge', sharded, '--json'], { cwd: ROOT, encoding: 'utf8' });
      expect(merged.status, merged.stderr).toBe(0);
      const m = JSON.parse(merged.stdout);
      expect(m.finished).toHaveLength(4);
      expect(m.missing).toEqual([]);
      expect(fs.existsSync(path.join(sharded, 'report', 'pareto.png'))).toBe(true);

      const plain = path.join(TMP, 'plain');
      const unsharded = spawnSync(TSX, ['bench/bench.ts', `--suite=${SUITE}`, `--out=${plain}`, `--data-dir=${DATA}`, '--threads=1'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 600_000,
      });
      expect(unsharded.status, unsharded.stderr).toBe(0);
      const a = latestRows(readRows(sharded));
      expect(new Set(a.map((r) => `${r.trial_id}/${r.point}`)).size).toBe(a.length); // each row exactly once
      expect(a.map(key).sort()).toEqual(latestRows(readRows(plain)).map(key).sort());
    },
  );
});

describe('merge', () => {
  it('merge says which trials are missing', () => {
    const partial = path.join(TMP, 'partial');
    const r = spawnSync(TSX, ['bench/bench.ts', `--suite=${SUITE}`, `--out=${partial}`, `--data-dir=${DATA}`, '--shard=1/2'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 600_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const merged = spawnSync(TSX, ['bench/bench.ts', 'merge', partial], { cwd: ROOT, encoding: 'utf8' });
    expect(merged.status).toBe(1);
    expect(merged.stdout).toMatch(/4 trials: 2 finished, 0 failed, 2 missing/);
    expect(merged.stdout.match(/^ {2}missing /gm)).toHaveLength(2);
  });
});
