/**
 * The bench command end to end, as a user runs it: tiny suites (resnet-small, a few steps, small
 * evaluation) on the synthetic dataset generated into a temporary data directory.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResultRow } from '../src/results/rows.js';
import { readManifest } from '../src/results/manifest.js';
import { metricKey, parseMetricKey } from '../src/results/metric_keys.js';
import { readRows } from '../src/results/store.js';
import { TINY_EVALUATION, writeTinySuite } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-runner-'));
const DATA = path.join(TMP, 'data');

const EVALUATION = {
  ...TINY_EVALUATION,
  bag: { patches: [2], repeats: 2, maxTrainImages: 20, maxTestImages: 10 },
  testCost: { patches: [1, 2], throughputCrops: 4 },
};

const writeSuite = (name: string, over: Record<string, unknown>) => writeTinySuite(TMP, name, EVALUATION, over);

function bench(args: string[]) {
  return spawnSync(TSX, ['bench/bench.ts', `--data-dir=${DATA}`, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
}

const finals = (rows: ResultRow[]) => rows.filter((r) => r.final);

describe('npm run bench', () => {
  beforeAll(() => fs.mkdirSync(DATA, { recursive: true }));

  it('runs every trial to the same steps budget, with every counter, evaluation and cost recorded', () => {
    const out = path.join(TMP, 'steps');
    // Transfer to the same dataset: its centre-view metrics must equal the trial's own (same images, same encoder).
    const suite = writeSuite('steps', {
      methods: [
        { method: 'simclr', batchImages: 8 },
        { method: 'emp-ssl', batchImages: 4, views: 4 },
        { method: 'byol', batchImages: 8 },
      ],
      evaluation: { ...EVALUATION, transfer: { synthetic: ['synthetic'] } },
    });
    const r = bench([`--suite=${suite}`, `--out=${out}`, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout);
    expect(printed.run_dir).toBe(out);
    expect(printed.summary).toHaveLength(3);
    const rowsNow = readRows(out);
    expect(printed.seconds.evaluation).toBeCloseTo(
      rowsNow.reduce((s, r) => s + r.eval_seconds, 0),
      6,
    );
    expect(printed.seconds.train).toBeCloseTo(
      finals(rowsNow).reduce((s, r) => s + r.train_seconds, 0),
      6,
    );
    expect(r.stderr).toMatch(/training \d+ s, evaluation \d+ s \(\d+ % of training\), summed over trials/);
    const rows = readRows(out);
    expect(rows).toHaveLength(6); // 3 trials x 2 points
    for (const f of finals(rows)) {
      expect(f.status).toBe('ok');
      expect(f.steps).toBe(4);
      expect(f.crops).toBe(4 * f.crops_per_step);
      expect(f.images).toBe(4 * f.batch_images);
      expect(f.epochs).toBeCloseTo(f.images / 5000, 12);
      expect(f.train_flops).toBeGreaterThan(0);
      expect(f.train_seconds).toBeGreaterThan(0);
      for (const k of ['knn20', 'knn200', 'linear', 'linear_val', 'bag2_linear_mean', 'bag2_linear_std', 'bag2_knn20_mean']) {
        expect(f.metrics[k], k).toBeGreaterThanOrEqual(0);
        expect(f.metrics[k], k).toBeLessThanOrEqual(1);
      }
      expect(f.metrics['transfer.synthetic.linear']).toBe(f.metrics.linear);
      expect(f.metrics['transfer.synthetic.knn20']).toBe(f.metrics.knn20);
      expect(f.memory.tensor_peak_bytes).toBeGreaterThan(0);
      expect(f.memory.step_peak_bytes).toBeGreaterThan(f.memory.tensor_peak_bytes);
      expect(f.test_cost?.map((t) => t.protocol)).toEqual(['single', 'bag1', 'bag2']);
      const [single, , bag2] = f.test_cost!;
      expect(bag2.flops_per_image).toBe(2 * single.flops_per_image); // same 32-pixel crops here
      expect(bag2.latency_ms_batch1).toBeGreaterThan(0);
    }
    // FLOPs per step: EMP-SSL's 4 views of 4 images and SimCLR's 2 of 8 pass the same 16 crops;
    // BYOL adds its predictor and the target's forward pass.
    const by = (m: string) => finals(rows).find((f) => f.method === m)!;
    expect(by('emp-ssl').crops).toBe(by('simclr').crops);
    expect(by('byol').train_flops).toBeGreaterThan(1.3 * by('simclr').train_flops);
    expect(by('emp-ssl').label).toBe('emp-ssl-x4');
    // Test-time cost is the network's, not the weights': measured once for the three trials' shared backbone.
    expect(by('byol').test_cost).toEqual(by('simclr').test_cost);
    // The half-way point was evaluated at 2 of 4 steps.
    expect(rows.filter((x) => !x.final).every((x) => x.steps === 2 && x.fraction === 0.5)).toBe(true);
    // Every metric the run wrote (transfer ones included) is a key metric_keys.ts makes and reads back.
    for (const k of new Set(rows.flatMap((x) => Object.keys(x.metrics)))) expect(metricKey(parseMetricKey(k)!), k).toBe(k);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.version).toBe(1);
    expect(readManifest(out)).toEqual(manifest);
    expect(manifest.provenance.machine.cores).toBeGreaterThan(0);
    expect(manifest.provenance.backend).toMatch(/wasm|cpu|tensorflow/);
    expect(manifest.provenance.git.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(manifest.trials).toHaveLength(3);
    expect(manifest.rules.training_flops).toMatch(/3 x forward FLOPs/);
    const csv = fs.readFileSync(path.join(out, 'summary.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(4);
    expect(r.stderr).toMatch(/method\s+dataset\s+budget/); // the table, on stderr with --json
    expect(fs.readdirSync(path.join(out, 'checkpoints'))).toEqual([]); // removed when trials end
  });

  it('stops a time budget within 2 % of its amount for every method', () => {
    // A trial ends within half a step of its amount, so 2 % holds where a step is under 4 % of the budget:
    // SimCLR's steps take ~0.25 s here, BYOL's ~0.65 s (its EMA target update), of 30 s. (EMP-SSL's
    // 21M-parameter projector makes even its smallest step ~1 s on 2 cores, too coarse for so short a budget.)
    const out = path.join(TMP, 'time');
    const suite = writeSuite('time', {
      methods: [
        { method: 'simclr', batchImages: 8 },
        { method: 'byol', batchImages: 8 },
      ],
      budgets: ['time:30s'],
      evaluation: { ...EVALUATION, bag: { patches: [] }, testCost: { patches: [] } },
    });
    const r = bench([`--suite=${suite}`, `--out=${out}`]);
    expect(r.status, r.stderr).toBe(0);
    const f = finals(readRows(out));
    expect(f).toHaveLength(2);
    for (const row of f) expect(Math.abs(row.train_seconds - 30) / 30, `${row.label}: ${row.train_seconds} s`).toBeLessThan(0.02);
  });

  it('records a diverged trial and carries on with the next; --log-updates names the layers and records update sizes', () => {
    const out = path.join(TMP, 'nan');
    const suite = writeSuite('nan', {
      // VICReg's loss grows with the embeddings' scale (SimCLR's, on normalised embeddings, does not): at this
      // rate the biases and batch-norm parameters, which take plain SGD steps outside LARS's trust ratio, blow it up
      // (the loss is infinite at the second step for rates 1e12-1e18, with or without oneDNN; at 1e8 or 1e22 and
      // above the network can instead die with a finite, constant loss, which no loss check can tell from training).
      methods: [
        { method: 'vicreg', batchImages: 8, lr: 1e15, label: 'vicreg-hot' },
        { method: 'simclr', batchImages: 8 },
      ],
      budgets: ['steps:4'],
    });
    const r = bench([`--suite=${suite}`, `--out=${out}`, '--log-updates']);
    expect(r.status, r.stderr).toBe(0);
    const f = finals(readRows(out));
    const hot = f.find((x) => x.label === 'vicreg-hot')!;
    expect(hot.status).toBe('diverged');
    expect(hot.error).toMatch(/loss became (NaN|Infinity|-Infinity).*lower the learning rate/);
    // The step before the NaN moved some layer by many times its own size: the message names it.
    const [, layer, size] = hot.error!.match(/largest relative updates in the step before: ([\w.]+) ([^,]+)/)!;
    expect(layer).toMatch(/^(conv1|bn1|layer\d|projector)/);
    expect(Number(size) > 10 || !Number.isFinite(Number(size))).toBe(true);
    // Healthy training: every layer moved by a small fraction of its size (the first step's warm-up rate is 0).
    const healthy = f.find((x) => x.label === 'simclr')!;
    expect(healthy.status).toBe('ok');
    expect(Object.keys(healthy.update_norms!)).toEqual(expect.arrayContaining(['conv1', 'layer4.0.conv2', 'projector.0']));
    for (const [l, u] of Object.entries(healthy.update_norms!)) {
      expect(u.max, l).toBeGreaterThanOrEqual(u.mean);
      expect(u.max, l).toBeGreaterThan(0);
      expect(u.max, l).toBeLessThan(1);
    }
    expect(r.stdout).toMatch(/simclr largest relative updates since the last point/);
    expect(r.stdout).toMatch(/vicreg-hot: diverged/);
    expect(r.stdout).toMatch(/diverged\s*$/m); // the summary table's "failed" column
  });

  it('records a trial that throws as error, finishes the others, and exits 1 naming it', () => {
    const out = path.join(TMP, 'throws');
    const suite = writeSuite('throws', {
      methods: [
        { method: 'simclr', batchImages: 8, label: 'simclr-broken' },
        { method: 'byol', batchImages: 8 },
      ],
      budgets: ['steps:3'],
    });
    const r = spawnSync(TSX, ['bench/bench.ts', `--data-dir=${DATA}`, `--suite=${suite}`, `--out=${out}`], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 600_000,
      env: { ...process.env, SSL_BENCH_FAULT: 'throw-at-step:simclr-broken' },
    });
    expect(r.status, r.stderr).toBe(1);
    const f = finals(readRows(out));
    const broken = f.find((x) => x.label === 'simclr-broken')!;
    expect(broken.status).toBe('error');
    expect(broken.steps).toBe(0);
    expect(broken.error).toMatch(/InjectedFault: fault injected by SSL_BENCH_FAULT/);
    const byol = f.find((x) => x.label === 'byol')!;
    expect(byol.status).toBe('ok');
    expect(byol.steps).toBe(3);
    expect(r.stdout).toMatch(/run incomplete: 1 trial\(s\) ended in error/);
    expect(r.stdout).toMatch(/simclr-broken synthetic seed 0: InjectedFault/);
    const md = fs.readFileSync(path.join(out, 'report', 'summary.md'), 'utf8');
    expect(md).toMatch(/## Failed trials\n\n- simclr-broken on synthetic \(resnet-small[^)]*\), seed 0: error after 0 steps/);
    expect(fs.readFileSync(path.join(out, 'report', 'index.html'), 'utf8')).toContain('<h2>Failed trials</h2>');
  });

  it('resumes a run killed with kill -9, losing at most the point in flight, to the same results', async () => {
    const suite = writeSuite('resume', {
      budgets: ['steps:24'],
      evaluation: { ...EVALUATION, fractions: [0.25, 0.5, 0.75, 1], bag: { patches: [] } },
    });
    const killed = path.join(TMP, 'killed');
    // Its own process group, so kill -9 reaches the node process under tsx as well.
    const child = spawn(TSX, ['bench/bench.ts', `--data-dir=${DATA}`, `--suite=${suite}`, `--out=${killed}`], {
      cwd: ROOT,
      stdio: 'ignore',
      detached: true,
    });
    const results = path.join(killed, 'results.jsonl');
    // Kill as soon as the first evaluation point is on disk.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (fs.existsSync(results) && fs.readFileSync(results, 'utf8').includes('\n')) {
          clearInterval(timer);
          process.kill(-child.pid!, 'SIGKILL');
          child.on('exit', () => resolve());
        }
      }, 20);
      child.on('exit', (code) => {
        clearInterval(timer);
        if (code === 0) reject(new Error('the run finished before it could be killed'));
      });
    });
    const before = readRows(killed);
    expect(before.length).toBeGreaterThanOrEqual(1);
    expect(before.some((x) => x.final)).toBe(false);
    const resumed = bench([`--suite=${suite}`, `--out=${killed}`, '--resume']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resuming simclr on synthetic/);
    const after = readRows(killed);
    // Rows written before the kill are kept as they were; each point appears once.
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.map((x) => x.point)).toEqual([0, 1, 2, 3]);
    // Same results as a run never interrupted.
    const clean = path.join(TMP, 'clean');
    expect(bench([`--suite=${suite}`, `--out=${clean}`]).status).toBe(0);
    const a = finals(after)[0];
    const b = finals(readRows(clean))[0];
    expect(a.steps).toBe(24);
    expect(a.crops).toBe(b.crops);
    expect(a.train_flops).toBe(b.train_flops);
    for (const k of Object.keys(b.metrics)) expect(a.metrics[k], k).toBeCloseTo(b.metrics[k], 6);
    expect(a.loss).toBeCloseTo(b.loss!, 4);
    // A finished run resumed again has nothing to do, also when its manifest predates versions (version 0),
    // which the resume rewrites at the current version, keeping its start.
    const file = path.join(killed, 'manifest.json');
    const { version, ...unversioned } = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(version).toBe(1);
    fs.writeFileSync(file, JSON.stringify(unversioned, null, 2));
    const again = bench([`--suite=${suite}`, `--out=${killed}`, '--resume']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/1 of 1 trials already finished/);
    expect(readRows(killed)).toHaveLength(4);
    expect(readManifest(killed)).toMatchObject({ version: 1, started: unversioned.started });
  });

  it('rejects bad flags, bad amounts, unknown names and bad suite files with exit 2 and what is valid', () => {
    const cases: [string[], RegExp][] = [
      [['--bogus'], /Unknown option '--bogus'[\s\S]*valid flags: .*--budget/],
      [['--budget=time:abc'], /malformed time budget "abc": write a positive amount such as 90s/],
      [['--budget=hours'], /unknown budget kind "hours"; valid: time, flops, patches, epochs, steps/],
      [['--methods=simclr,mocov3'], /unknown method "mocov3"; valid: .*emp-ssl/],
      [['--datasets=mnist'], /unknown dataset "mnist"; valid: synthetic, cifar10/],
      [['--seeds=0'], /--seeds must be an integer from 1 to 1000/],
      [['--suite=nosuch'], /suite file .*nosuch\.json not found; shipped suites: default, fashion, nightly, paper/],
    ];
    for (const [args, message] of cases) {
      const r = bench(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const broken = path.join(TMP, 'broken.json');
    fs.writeFileSync(broken, '{"name": "x", "methods": [');
    expect(bench([`--suite=${broken}`]).stderr).toMatch(/is not valid JSON/);
    const invalid = writeSuite('invalid', { seeds: -1, methods: ['simclr', 'nope'] });
    const r = bench([`--suite=${invalid}`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/suite\.seeds/);
    const existing = path.join(TMP, 'steps');
    const clash = bench([`--suite=${writeSuite('steps', {})}`, `--out=${existing}`]);
    expect(clash.status).toBe(2);
    expect(clash.stderr).toMatch(/already holds a run; add --resume/);
  });

  it('--help and --plan describe the run without running it', () => {
    const help = bench(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--budget=KIND\[:AMOUNT\]/);
    const plan = bench(['--plan', '--json', '--seeds=2']);
    expect(plan.status).toBe(0);
    const { trials, sbatch } = JSON.parse(plan.stdout);
    // Seven methods and the two reference rows, two seeds each.
    expect(trials).toHaveLength(18);
    expect(sbatch).toMatch(/SUITE=default RUN_DIR=\S+ sbatch --array=1-18 --export=ALL slurm\/bench.sbatch/);
    expect(new Set(trials.map((t: { id: string }) => t.id)).size).toBe(18);
    // A rerun on fresh seeds: the same count, shifted.
    const fresh = JSON.parse(bench(['--plan', '--json', '--seeds=2', '--first-seed=7']).stdout);
    expect([...new Set(fresh.trials.map((t: { seed: number }) => t.seed))].sort()).toEqual([7, 8]);
  });
});
