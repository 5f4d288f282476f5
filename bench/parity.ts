/**
 * npm run bench:parity -- [--suite=parity|FILE] [--datasets=a,b] [--methods=simclr,byol] [--seeds=N]
 *                         [--budget=patches:N] [--threads=N] [--data-dir=D] [--out=DIR] [--json]
 *
 * Learning checked against PyTorch: every trial of the suite is trained twice from the same configuration,
 * by our runner (wasm + oneDNN or whatever `auto` picks) and by bench/parity/torch_ssl.py on Debian's
 * PyTorch, at the same patch budget, and probed on the same images; the table gives each side's final
 * linear and kNN-20 accuracy (mean over seeds) and the difference.
 */
import fs from 'node:fs';
import path from 'node:path';
import { defaultDataRoot, loadDataset } from '../datasets/registry.js';
import type { Dataset } from '../datasets/types.js';
import { describeBackend, initBackend } from '../engine/backends/select.js';
import { runTorchPlan, torchAvailable, torchPlan, type TorchResult } from '../src/cases/torch_parity.js';
import { listFlag, parseFlags, parseIntFlag, runMain, UsageError } from '../src/cli.js';
import { type EvalSplits, evalSplits } from '../src/eval/splits.js';
import { collectProvenance } from '../src/measure/provenance.js';
import type { ResultRow } from '../src/results/rows.js';
import { writeFileAtomic } from '../src/results/store.js';
import { Progress } from '../src/runner/progress.js';
import { runSuite } from '../src/runner/run.js';
import { applyOverrides, loadSuite, SuiteError } from '../src/runner/suite.js';
import { expandTrials, type Trial } from '../src/runner/trials.js';
import { mean, sd } from '../src/stats.js';

const USAGE = `usage: npm run bench:parity -- [options]

Trains each trial of the parity suite (SimCLR and BYOL on the synthetic set and Fashion-MNIST, 3 seeds, a
patch budget) with our engine and with PyTorch (bench/parity/torch_ssl.py, Debian's python3-torch), from
the same configuration, and prints both sides' final linear and kNN-20 accuracy, the difference and its
standard error over the seeds (seed-to-seed spread is 4-7 points here: 3 seeds cannot resolve a 3-point gap).

options:
  --suite=NAME|FILE   default parity (bench/suites/parity.json)
  --datasets=a,b      default: the suite's (synthetic, fashion-mnist)
  --methods=a,b       simclr, byol (default: both)
  --seeds=N           seeds 0..N-1 (default 3)
  --budget=patches:N  crops per trial (default the suite's, 1.2e4)
  --threads=N         threads on both sides (default 2)
  --data-dir=DIR      dataset root (default $SSL_BENCH_DATA or ./data)
  --out=DIR           where both sides' results go (default runs/<time>-parity)
  --json              one object per dataset x method on stdout (progress on stderr)`;

interface Side {
  linear: number[];
  knn20: number[];
  cropsPerSecond: number[];
}

function side(): Side {
  return { linear: [], knn20: [], cropsPerSecond: [] };
}

runMain(async () => {
  const { values } = parseFlags(
    process.argv.slice(2),
    {
      suite: { type: 'string' },
      datasets: { type: 'string' },
      methods: { type: 'string' },
      seeds: { type: 'string' },
      budget: { type: 'string' },
      threads: { type: 'string' },
      'data-dir': { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const threads = parseIntFlag('threads', values.threads, 2, 1, 64);
  let suite;
  try {
    suite = applyOverrides(loadSuite(values.suite ?? 'parity'), {
      budget: values.budget,
      methods: listFlag(values.methods),
      datasets: listFlag(values.datasets),
      seeds: values.seeds === undefined ? undefined : parseIntFlag('seeds', values.seeds, 3, 1, 100),
    });
  } catch (e) {
    if (e instanceof SuiteError) throw new UsageError(e.message);
    throw e;
  }
  const trials = expandTrials(suite);
  for (const t of trials) {
    if (t.method.method !== 'simclr' && t.method.method !== 'byol')
      throw new UsageError(`the PyTorch reference trains simclr and byol; the suite asks for ${t.method.method}`);
    if (t.budget.kind !== 'patches') throw new UsageError(`parity needs a patch budget (--budget=patches:N), got ${t.budget.kind}`);
  }
  if (!(await torchAvailable())) throw new UsageError('PyTorch is not importable by /usr/bin/python3: apt-get install python3-torch');
  const out = path.resolve(values.out ?? path.join('runs', `${new Date().toISOString().replace(/[:.]/g, '-')}-parity`));
  if (fs.existsSync(path.join(out, 'ours', 'manifest.json')))
    throw new UsageError(`${out} already holds a parity run; choose another --out`);
  fs.mkdirSync(path.join(out, 'torch'), { recursive: true });
  const dataRoot = values['data-dir'] ?? defaultDataRoot();
  const log = values.json ? process.stderr : process.stdout;
  const progress = new Progress(log);

  // Ours: the runner exactly as `npm run bench` runs these trials.
  const backend = await initBackend({ backend: 'auto', threads });
  progress.log(`ours: ${describeBackend(backend).split('\n')[0]}; ${trials.length} trials -> ${path.join(out, 'ours')}`);
  const ours = await runSuite({
    suite,
    trials,
    runDir: path.join(out, 'ours'),
    resume: false,
    provenance: await collectProvenance(backend),
    dataRoot,
    progress,
    argv: process.argv.slice(2),
    shard: null,
  });

  // PyTorch: the same trials from plans built by the same configuration code.
  const torch = new Map<string, TorchResult>();
  // Each dataset is loaded, and its probe splits drawn, once (as the runner does).
  const targets = new Map<string, { dataset: Dataset; splits: EvalSplits }>();
  for (const [i, t] of trials.entries()) {
    if (!targets.has(t.dataset)) {
      const dataset = await loadDataset(t.dataset, dataRoot);
      targets.set(t.dataset, { dataset, splits: evalSplits(dataset, suite.evaluation) });
    }
    const { dataset, splits } = targets.get(t.dataset)!;
    const plan = torchPlan(t, dataset, splits, threads);
    progress.log(`[torch ${i + 1}/${trials.length}] ${t.method.label} ${t.dataset} seed ${t.seed}`);
    const r = await runTorchPlan(plan, path.join(out, 'torch', `${t.id}.plan.json`));
    writeFileAtomic(path.join(out, 'torch', `${t.id}.result.json`), `${JSON.stringify(r, null, 2)}\n`);
    torch.set(t.id, r);
    progress.log(`  torch: linear ${pct(r.linear)}, knn20 ${pct(r.knn20)}, ${r.steps} steps in ${r.train_seconds.toFixed(1)} s`);
  }

  const table = compare(trials, ours, torch);
  if (values.json) process.stdout.write(`${JSON.stringify({ out, rows: table })}\n`);
  log.write(`\n${formatTable(table)}\n\nboth sides' results: ${out}\n`);
});

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);

interface ParityLine {
  dataset: string;
  method: string;
  seeds: number;
  ours: { linear: number; knn20: number; crops_per_second: number; per_seed_linear: number[] };
  torch: { linear: number; knn20: number; crops_per_second: number; per_seed_linear: number[] };
  diff_linear: number;
  /** Standard error of diff_linear from the seeds' spread on each side (null below 2 seeds a side). */
  diff_linear_se: number | null;
  diff_knn20: number;
}

function compare(trials: Trial[], ours: ResultRow[], torch: Map<string, TorchResult>): ParityLine[] {
  const groups = new Map<string, { dataset: string; method: string; ours: Side; torch: Side }>();
  for (const t of trials) {
    const key = `${t.dataset}\u0000${t.method.label}`;
    if (!groups.has(key)) groups.set(key, { dataset: t.dataset, method: t.method.label, ours: side(), torch: side() });
    const g = groups.get(key)!;
    const row = ours.find((r) => r.trial_id === t.id && r.final);
    if (row?.status === 'ok') {
      g.ours.linear.push(row.metrics.linear);
      g.ours.knn20.push(row.metrics.knn20);
      g.ours.cropsPerSecond.push(row.crops / row.train_seconds);
    }
    const r = torch.get(t.id);
    if (r?.status === 'ok' && r.linear !== null && r.knn20 !== null) {
      g.torch.linear.push(r.linear);
      g.torch.knn20.push(r.knn20);
      g.torch.cropsPerSecond.push(r.crops / r.train_seconds);
    }
  }
  const summary = (s: Side) => ({
    linear: mean(s.linear),
    knn20: mean(s.knn20),
    crops_per_second: mean(s.cropsPerSecond),
    per_seed_linear: s.linear,
  });
  return [...groups.values()].map((g) => {
    const o = summary(g.ours);
    const p = summary(g.torch);
    return {
      dataset: g.dataset,
      method: g.method,
      seeds: g.ours.linear.length,
      ours: o,
      torch: p,
      diff_linear: o.linear - p.linear,
      diff_linear_se: standardError(g.ours.linear, g.torch.linear),
      diff_knn20: o.knn20 - p.knn20,
    };
  });
}

/** sqrt(s1^2 / n1 + s2^2 / n2): how far two means of a few seeds each can differ by chance alone. */
function standardError(a: number[], b: number[]): number | null {
  if (a.length < 2 || b.length < 2) return null;
  return Math.sqrt(sd(a) ** 2 / a.length + sd(b) ** 2 / b.length);
}

function formatTable(lines: ParityLine[]): string {
  const header = [
    'dataset',
    'method',
    'seeds',
    'ours linear',
    'torch linear',
    'diff',
    '± se',
    'ours kNN-20',
    'torch kNN-20',
    'diff',
    'ours crops/s',
    'torch crops/s',
  ];
  const pts = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
  const rows = lines.map((l) => [
    l.dataset,
    l.method,
    String(l.seeds),
    pct(l.ours.linear),
    pct(l.torch.linear),
    pts(l.diff_linear),
    l.diff_linear_se === null ? '-' : (100 * l.diff_linear_se).toFixed(1),
    pct(l.ours.knn20),
    pct(l.torch.knn20),
    pts(l.diff_knn20),
    l.ours.crops_per_second.toFixed(0),
    l.torch.crops_per_second.toFixed(0),
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}
