/**
 * npm run bench -- [options]: train every method of a suite under equal budgets, evaluate, and write a
 * run directory (manifest.json, results.jsonl, summary.csv). See USAGE below and the README.
 */
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultDataRoot } from '../datasets/registry.js';
import { BACKEND_CHOICES, describeBackend, initBackend } from '../engine/backends/select.js';
import { listFlag, parseBackendFlag, parseFlags, parseIntFlag, runMain, UsageError } from '../src/cli.js';
import { makeReport } from '../reports/report.js';
import { headlineFindings } from '../reports/findings.js';
import { collectProvenance } from '../src/measure/provenance.js';
import { latestRows, runSeconds, runSecondsLine, summaryRecords, summaryTable } from '../src/results/summary.js';
import { BUDGET_KINDS } from '../src/runner/budget.js';
import { Progress } from '../src/runner/progress.js';
import { RunError, runSuite } from '../src/runner/run.js';
import { BackendDeadError } from '../src/runner/trial.js';
import { mergeRun } from '../src/runner/merge.js';
import { parseShard, shardFromSlurm, shardName, type Shard, type ShardError } from '../src/runner/shard.js';
import { applyOverrides, loadSuite, SuiteError, SUITES_DIR } from '../src/runner/suite.js';
import { expandTrials } from '../src/runner/trials.js';
import { exitOnSignals } from '../src/runner/interrupt.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `usage: npm run bench -- [options]
       npm run bench -- merge RUN_DIR [--json]

Trains each method of a suite under the same budget, evaluates it at fixed fractions of the budget
(kNN, linear probe, bag-of-features), and writes runs/<time>-<suite>/ (manifest.json, results.jsonl,
summary.csv), then a report with findings (95 % intervals over paired seeds). With no options: the
default suite (seven SSL methods, the untrained floor and the supervised ceiling on the synthetic
set, resnet-small, 20,000 crops each, 5 seeds; about 30 minutes on 2 cores with oneDNN).

options:
  --suite=NAME|FILE   a suite in bench/suites/ (default, fashion, paper, parity, nightly) or a JSON file
                      (default: default)
  --budget=KIND[:AMOUNT]
                      ${BUDGET_KINDS.join('|')}; amounts with units: time:90s, time:2h, flops:3e15,
                      patches:2e6, epochs:1, steps:500 (KIND alone: the suite's amount for that kind)
  --methods=a,b       methods or suite labels (default: the suite's)
  --datasets=x,y      datasets (default: the suite's)
  --seeds=N           seeds 0..N-1 (default: the suite's)
  --first-seed=K      start the seeds at K (a rerun on fresh seeds: --first-seed=3 runs 3, 4, 5 of a 3-seed suite)
  --backbone=NAME     resnet-small, resnet18, resnet50, each with -cifar or -imagenet (default: the suite's)
  --backend=NAME      ${BACKEND_CHOICES.join('|')} (default auto)
  --threads=N         backend threads (default: all cores)
  --input-workers=N   worker threads that cut the next steps' crops while a step computes (0: on the
                      training thread; default 0 on CPU backends, whose step uses every core, else
                      up to 4). The batches are the same whatever N; time a step waits for its
                      input stays on the training clock and is reported apart
  --data-dir=DIR      dataset root (default $SSL_BENCH_DATA or ./data)
  --out=DIR           run directory (default runs/<time>-<suite>)
  --resume            continue the run in --out (or the latest run of this suite): finished trials are
                      skipped, unfinished ones continue from their last evaluation point. Refused when
                      another process still writes the run, or when the run was written by another
                      commit, uncommitted tree or machine
  --allow-mixed       with --resume: continue such a run anyway; its summary and report then say which
                      rows came from which code and machine
  --shard=i/n         run trials i, i+n, i+2n, ... of the sorted list into --out (several processes
                      share one run directory); inside a Slurm array task the shard comes from
                      SLURM_ARRAY_TASK_ID/_MIN/_MAX/_COUNT
  --log-updates       record each layer's relative update size (||w_after - w_before|| / ||w_before||, mean
                      and max between evaluation points) in the result rows and the log; a diverged
                      trial then names the layers whose updates ran away. Copies the weights every step.
  --plan              print the trial list and the sbatch line covering it, and exit
  --json              print the final rows as JSON on stdout (progress goes to stderr)

A trial that fails is recorded and the run goes on: diverged (NaN or exploding loss) and oom are
results; error (any other exception) makes the exit status 1, with each error listed at the end.

merge RUN_DIR         after a sharded run: combine the shards' results, list missing and failed trials
                      (exit 1 if any is missing or ended in error), rewrite summary.csv and the report`;

function timestamp(): string {
  return new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '')
    .replace('T', '-');
}

/** The most recent run directory of `suite` under runs/ (for --resume without --out). */
function latestRun(suite: string): string | null {
  const runs = path.join(REPO_ROOT, 'runs');
  if (!fs.existsSync(runs)) return null;
  const dirs = fs
    .readdirSync(runs)
    .filter((d) => d.endsWith(`-${suite}`) && fs.existsSync(path.join(runs, d, 'manifest.json')))
    .sort();
  return dirs.length ? path.join(runs, dirs[dirs.length - 1]) : null;
}

/** `merge RUN_DIR`: combine shards, say what is missing or failed, render the report. */
async function merge(args: string[], json: boolean): Promise<void> {
  if (args.length !== 1) throw new UsageError(`merge takes one run directory, got ${args.length}\n\n${USAGE}`);
  const runDir = path.resolve(args[0]);
  if (!fs.existsSync(path.join(runDir, 'manifest.json'))) throw new UsageError(`${runDir} is not a run directory (no manifest.json)`);
  const log = (s: string) => (json ? process.stderr : process.stdout).write(`${s}\n`);
  const m = mergeRun(runDir, (w) => log(`warning: ${w}`));
  log(`${m.trials} trials: ${m.finished.length} finished, ${m.failed.length} failed, ${m.missing.length} missing`);
  for (const f of m.failed) log(`  failed  ${f.id} ${f.label} ${f.dataset} seed ${f.seed}: ${f.status}${f.error ? ` (${f.error})` : ''}`);
  for (const t of m.missing) log(`  missing ${t.id} ${t.label} ${t.dataset} seed ${t.seed}`);
  if (m.strays > 0) log(`warning: ${m.strays} rows belong to trials this run's manifest does not list`);
  let html: string | null = null;
  if (m.rows.length > 0) {
    log(`\n${summaryTable(m.rows)}\n`);
    html = (await makeReport([runDir], path.join(runDir, 'report'))).html;
    log(`report: ${html}`);
  }
  if (json)
    process.stdout.write(
      `${JSON.stringify({ run_dir: runDir, trials: m.trials, finished: m.finished, failed: m.failed, missing: m.missing, report: html })}\n`,
    );
  if (m.missing.length > 0 || m.failed.some((f) => f.status === 'error')) process.exitCode = 1;
}

/**
 * Augmentation workers when --input-workers is not given. On a CPU backend the step's threads take every
 * core, and a worker competing with them cost SwAV 5-8 % of its crops/s on 2 cores (augmenting grey 32x32
 * crops inline is 3-5 % of a step); a GPU leaves the cores to the input pipeline.
 */
function defaultInputWorkers(backend: string): number {
  return backend === 'webgpu' || backend === 'tensorflow' ? Math.max(1, Math.min(4, os.availableParallelism() - 1)) : 0;
}

runMain(async () => {
  const argv = process.argv.slice(2);
  const { values, positionals } = parseFlags(
    argv,
    {
      suite: { type: 'string' },
      budget: { type: 'string' },
      methods: { type: 'string' },
      datasets: { type: 'string' },
      seeds: { type: 'string' },
      'first-seed': { type: 'string' },
      backbone: { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      'input-workers': { type: 'string' },
      'data-dir': { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean' },
      'allow-mixed': { type: 'boolean' },
      'log-updates': { type: 'boolean' },
      plan: { type: 'boolean' },
      shard: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
    true,
  );
  if (positionals[0] === 'merge') return merge(positionals.slice(1), Boolean(values.json));
  if (positionals.length > 0)
    throw new UsageError(
      `unexpected argument "${positionals[0]}" (options are written --name=value; the one command is "merge RUN_DIR")\n\n${USAGE}`,
    );
  let shard: Shard | null;
  try {
    shard = values.shard ? parseShard(values.shard) : shardFromSlurm();
  } catch (e) {
    throw new UsageError((e as ShardError).message);
  }
  const backendChoice = parseBackendFlag(values.backend);
  const threads = values.threads === undefined ? undefined : parseIntFlag('threads', values.threads, 1, 1, 64);
  const inputWorkersFlag =
    values['input-workers'] === undefined ? undefined : parseIntFlag('input-workers', values['input-workers'], 0, 0, 16);
  const seeds = values.seeds === undefined ? undefined : parseIntFlag('seeds', values.seeds, 1, 1, 1000);
  const firstSeed = values['first-seed'] === undefined ? undefined : parseIntFlag('first-seed', values['first-seed'], 0, 0, 1e6);
  let suite;
  try {
    suite = applyOverrides(loadSuite(values.suite ?? 'default'), {
      budget: values.budget,
      methods: listFlag(values.methods),
      datasets: listFlag(values.datasets),
      seeds,
      firstSeed,
      backbone: values.backbone,
    });
  } catch (e) {
    if (e instanceof SuiteError) throw new UsageError(e.message);
    throw e;
  }
  const trials = expandTrials(suite);
  const out = values.json ? process.stderr : process.stdout;
  if (values.plan) {
    const rows = trials.map((t) => ({
      id: t.id,
      label: t.method.label,
      dataset: t.dataset,
      backbone: t.backbone,
      budget: `${t.budget.kind}:${t.budget.amount}`,
      seed: t.seed,
    }));
    const suiteArg = suite.file && path.dirname(suite.file) !== SUITES_DIR ? suite.file : suite.name;
    const sbatch = `SUITE=${suiteArg} RUN_DIR=${path.join(REPO_ROOT, 'runs', suite.name)} sbatch --array=1-${trials.length} --export=ALL slurm/bench.sbatch`;
    if (values.json) process.stdout.write(`${JSON.stringify({ trials: rows, sbatch })}\n`);
    else {
      for (const r of rows)
        out.write(
          `${r.id}  ${r.label.padEnd(18)} ${r.dataset.padEnd(14)} ${r.backbone.padEnd(20)} ${r.budget.padEnd(16)} seed ${r.seed}\n`,
        );
      out.write(`\n${trials.length} trials. On Slurm, one array task per trial (fewer tasks take every n-th trial each):\n  ${sbatch}\n`);
    }
    return;
  }
  let runDir: string;
  if (values.out) runDir = path.resolve(values.out);
  else if (shard) throw new UsageError('a shard needs --out=DIR: the run directory every shard shares');
  else if (values.resume) {
    const latest = latestRun(suite.name);
    if (!latest) throw new UsageError(`--resume: no earlier run of suite "${suite.name}" under runs/; name one with --out=DIR`);
    runDir = latest;
  } else runDir = path.join(REPO_ROOT, 'runs', `${timestamp()}-${suite.name}`);
  if (values.resume && !fs.existsSync(path.join(runDir, 'manifest.json')))
    throw new UsageError(`--resume: ${runDir} holds no run (no manifest.json)`);

  const backend = await initBackend({ backend: backendChoice, threads });
  const progress = new Progress(out);
  progress.log(describeBackend(backend));
  const inputWorkers = inputWorkersFlag ?? defaultInputWorkers(backend.name);
  progress.log(
    `input: ${inputWorkers === 0 ? 'crops cut on the training thread' : `${inputWorkers} worker thread(s) cut crops ahead of each step`} (--input-workers)`,
  );
  progress.log(
    `suite ${suite.name}: ${trials.length} trials (${suite.methods.map((m) => m.label).join(', ')} on ${suite.datasets.map((d) => d.name).join(', ')}; seeds ${suite.seeds.join(',')}) -> ${runDir}`,
  );
  const provenance = await collectProvenance(backend);
  if (values['allow-mixed'] && !values.resume && !shard) throw new UsageError('--allow-mixed goes with --resume (or --shard)');
  // Ctrl-C or SIGTERM: exit 130 / 143 with the command that continues the run.
  exitOnSignals(argv, runDir, (text) => process.stderr.write(text));
  let rows;
  try {
    rows = await runSuite({
      suite,
      trials,
      runDir,
      resume: Boolean(values.resume),
      provenance,
      dataRoot: values['data-dir'] ?? defaultDataRoot(),
      progress,
      argv,
      shard,
      logUpdates: Boolean(values['log-updates']),
      inputWorkers,
      allowMixed: Boolean(values['allow-mixed']),
    });
  } catch (e) {
    if (e instanceof RunError) throw new UsageError(e.message);
    if (e instanceof BackendDeadError) {
      progress.log(`\nrun incomplete: ${e.message}`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
  if (shard) {
    progress.log(`${shardName(shard)} done; when every shard is: npm run bench -- merge ${runDir}`);
    if (values.json) process.stdout.write(`${JSON.stringify({ run_dir: runDir, shard })}\n`);
    return;
  }
  progress.log(`\n${summaryTable(rows)}\n${runSecondsLine(rows)}\n`);
  const report = await makeReport([runDir], path.join(runDir, 'report'));
  const headline = headlineFindings(report.findings);
  if (report.mixed) progress.log(`warning: ${report.mixed}`);
  if (headline.length > 0)
    progress.log(
      `findings (95 % intervals over paired seeds; every finding: ${path.join(runDir, 'report', 'summary.md')}):\n${headline.map((f) => `  ${f.sentence}`).join('\n')}\n`,
    );
  progress.log(`results: ${path.join(runDir, 'results.jsonl')}\nsummary: ${path.join(runDir, 'summary.csv')}\nreport:  ${report.html}`);
  // Diverged and out-of-memory trials are results; a trial that threw is a run that did not finish its work.
  const errors = latestRows(rows).filter((r) => r.final && r.status === 'error');
  if (errors.length > 0) {
    progress.log(
      `\nrun incomplete: ${errors.length} trial(s) ended in error (exit status 1):\n${errors.map((r) => `  ${r.label} ${r.dataset} seed ${r.seed}: ${r.error}`).join('\n')}`,
    );
    process.exitCode = 1;
  }
  if (values.json)
    process.stdout.write(
      `${JSON.stringify({ run_dir: runDir, report: report.html, summary: summaryRecords(rows).records, findings: report.findings, seconds: runSeconds(rows), errors: errors.length })}\n`,
    );
});
