/**
 * npm run nightly -- [--history=DIR] [--baseline-ref=REF|none] [--rounds=N] [--skip-accuracy] [--json]: a same-night A/B of the micro-benchmarks
 * against the last good commit (reports/ab_compare.ts), a short fixed-budget accuracy run and the reference
 * self-check, saved as tonight's entry in the history; the accuracy lines (and, without an A/B, every line)
 * are compared with the last N nights of the same machine. Exit 0: no confirmed regression; 1: a confirmed
 * regression, a failed self-check or a diverged nightly trial; 2: the run itself failed.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkFixtureDir } from '../src/selfcheck.js';
import { DEFAULT_DETECTOR, judgeTonight } from '../reports/regression.js';
import { DEFAULT_AB_RULE, flaggedLastNight, judgeAb, lastGoodCommit, pastChanges } from '../reports/ab_compare.js';
import {
  type AbRecord,
  historyDir,
  loadNights,
  nightlyMarkdown,
  nightStamp,
  saveNight,
  writeNightlyReport,
} from '../reports/nightly_report.js';
import { BaselineTreeError, checkoutBaseline, resolveCommit } from '../src/nightly/baseline_tree.js';
import { runInterleaved } from '../src/nightly/interleave.js';
import { INJECT_ENV } from '../src/cases/nightly_micro.js';
import { BACKEND_CHOICES, describeBackend, initBackend } from '../engine/backends/select.js';
import { runMicroBenchmarks } from '../src/cases/nightly_micro.js';
import { getMethod } from '../methods/registry.js';
import { failureText, listFlag, parseBackendFlag, parseFlags, parseIntFlag, UsageError } from '../src/cli.js';
import { collectProvenance } from '../src/measure/provenance.js';
import { finalRows, roleOf } from '../src/results/summary.js';
import { Progress } from '../src/runner/progress.js';
import { runSuite } from '../src/runner/run.js';
import { applyOverrides, loadSuite, SuiteError } from '../src/runner/suite.js';
import { expandTrials } from '../src/runner/trials.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = path.resolve(REPO_ROOT, 'test', 'fixtures', 'reference', 'losses');

const USAGE = `usage: npm run nightly -- [options]

Tonight's micro-benchmarks (a training step per method, augmentation, kNN, linear probe, logdet; tinybench,
raw samples kept), run as a same-night A/B: the baseline commit is checked out beside this one (git
worktree) and both run interleaved in rounds, each a fresh process; a change is flagged when its 95 %
interval excludes zero and it clears the noise floor (the larger of --threshold and 3 scaled MADs of the
benchmark's changes on past nights), confirmed when the night before flagged it too. Then a short
fixed-budget accuracy run (bench/suites/nightly.json: linear accuracy and the gain over random-init per
method, compared with the last N nights) and the reference self-check. Everything is saved in the history;
writes a Markdown summary and an HTML page of trend charts; prints the summary.

options:
  --history=DIR     history root (default ./history); nights are kept per machine fingerprint
  --baseline-ref=REF the A/B's baseline commit (default: the latest clean night's commit with no
                    regression awaiting confirmation, else HEAD); none: no A/B, judged against history
  --rounds=N        A/B rounds, each a fresh process per side (default 5, at least 3)
  --skip-accuracy   micro-benchmarks and self-check only (no accuracy run)
  --baseline=N      nights to compare with (default ${DEFAULT_DETECTOR.baseline})
  --threshold=PCT   relative change that counts as large, in percent (default ${100 * DEFAULT_DETECTOR.threshold})
  --suite=NAME|FILE the accuracy run's suite (default nightly)
  --methods=a,b     restrict micro-benchmarks and the accuracy run to these methods
  --only=a,b        only these micro-benchmarks (names as in the summary, e.g. step/simclr)
  --bench-time=MS   measuring time per micro-benchmark (per side and round in an A/B; default 1000)
  --fixtures=DIR    loss reference fixtures (default test/fixtures/reference/losses)
  --backend=NAME    ${BACKEND_CHOICES.join('|')} (default auto)
  --data-dir=DIR    dataset root for the accuracy run
  --json            print tonight's judgements as JSON instead of the Markdown summary

exit status: 0 no confirmed regression, 1 a confirmed regression, a failed self-check or a diverged\nnightly trial, 2 the run itself failed`;

async function main(): Promise<number> {
  const { values } = parseFlags(
    process.argv.slice(2),
    {
      history: { type: 'string' },
      'baseline-ref': { type: 'string' },
      rounds: { type: 'string' },
      'skip-accuracy': { type: 'boolean' },
      baseline: { type: 'string' },
      threshold: { type: 'string' },
      suite: { type: 'string' },
      methods: { type: 'string' },
      'bench-time': { type: 'string' },
      only: { type: 'string' },
      fixtures: { type: 'string' },
      backend: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const detector = { ...DEFAULT_DETECTOR, baseline: parseIntFlag('baseline', values.baseline, DEFAULT_DETECTOR.baseline, 1, 365) };
  if (values.threshold !== undefined) detector.threshold = parseIntFlag('threshold', values.threshold, 5, 1, 100) / 100;
  const rule = { ...DEFAULT_AB_RULE, threshold: detector.threshold };
  // Two rounds leave a t interval 12.7 standard errors wide: nothing would ever be flagged.
  const rounds = parseIntFlag('rounds', values.rounds, 5, 3, 50);
  const benchTime = parseIntFlag('bench-time', values['bench-time'], 1000, 10);
  const methods = listFlag(values.methods);
  let suite;
  try {
    suite = applyOverrides(loadSuite(values.suite ?? 'nightly'), { methods });
  } catch (e) {
    if (e instanceof SuiteError) throw new UsageError(e.message);
    throw e;
  }
  const historyRoot = path.resolve(values.history ?? path.join(REPO_ROOT, 'history'));
  const progress = new Progress(process.stderr);
  const backend = await initBackend({ backend: parseBackendFlag(values.backend) });
  progress.log(describeBackend(backend));
  const provenance = await collectProvenance(backend);
  const date = new Date().toISOString();
  const measurements: Record<string, { unit: string; better: 'lower' | 'higher'; samples: number[] }> = {};

  // The untrained floor takes no step: nothing to time.
  const microMethods = suite.methods.map((m) => m.method).filter((m) => getMethod(m).role !== 'floor');
  const only = listFlag(values.only);
  const pastNights = loadNights(historyRoot, provenance.fingerprint);
  let ab: AbRecord | undefined;
  let reproduce = '';
  if (values['baseline-ref'] === 'none') {
    progress.log('1/3 micro-benchmarks (no A/B: judged against history)');
    const micro = await runMicroBenchmarks({ methods: microMethods, images: 16, timeMs: benchTime, log: (l) => progress.log(l) });
    for (const m of micro) if (!only || only.includes(m.name)) measurements[m.name] = { unit: 'ms', better: 'lower', samples: m.samples };
  } else {
    const injected = process.env[INJECT_ENV];
    if (injected)
      progress.log(
        `warning: ${INJECT_ENV}=${injected} slows tonight's side on purpose (the detector's calibration); this night is marked as such`,
      );
    const fromHistory = values['baseline-ref'] === undefined ? lastGoodCommit(pastNights) : null;
    let baseline: string;
    try {
      baseline = resolveCommit(REPO_ROOT, values['baseline-ref'] ?? fromHistory ?? 'HEAD');
    } catch (e) {
      if (!(e instanceof BaselineTreeError)) throw e;
      throw new UsageError(
        fromHistory
          ? `the last good night's commit ${fromHistory.slice(0, 10)} (from ${historyRoot}) is not in this clone: fetch it (git fetch --unshallow), or give --baseline-ref=REF`
          : e.message,
      );
    }
    progress.log(`1/3 micro-benchmarks: A/B of this checkout against ${baseline.slice(0, 10)}, ${rounds} rounds`);
    let tree;
    try {
      tree = checkoutBaseline(REPO_ROOT, baseline);
    } catch (e) {
      if (e instanceof BaselineTreeError) throw new UsageError(e.message);
      throw e;
    }
    let result;
    try {
      result = await runInterleaved({
        root: REPO_ROOT,
        // An injected slowdown (the detector's calibration) applies to tonight's side only.
        a: { label: `A ${baseline.slice(0, 10)}`, tree: tree.dir, env: { [INJECT_ENV]: '' } },
        b: { label: 'B (this checkout)', tree: REPO_ROOT },
        rounds,
        slices: 4,
        methods: microMethods,
        only,
        benchTimeMs: benchTime,
        backend: backend.name,
        log: (l) => progress.log(l),
      });
    } finally {
      tree.remove((warning) => progress.log(`warning: ${warning}`));
    }
    const judgements = result.samples.map((x) =>
      judgeAb({ ...x, unit: 'ms', better: 'lower' }, pastChanges(pastNights, x.name), flaggedLastNight(pastNights, x.name), rule),
    );
    ab = {
      baseline_commit: baseline,
      commit: provenance.git.commit,
      dirty: provenance.git.dirty,
      injected: injected || null,
      rounds,
      rule,
      judgements,
      only_tonight: result.onlyB.map((x) => x.name),
    };
    for (const x of result.samples) measurements[x.name] = { unit: 'ms', better: 'lower', samples: x.b.flat() };
    for (const x of result.onlyB) measurements[x.name] = { unit: 'ms', better: 'lower', samples: x.samples };
    reproduce = `npm run nightly -- --baseline-ref=${baseline.slice(0, 10)} --methods=${microMethods.join(',')} --only=BENCHMARK --rounds=${rounds} --bench-time=${benchTime} --backend=${backend.name} --skip-accuracy --history=$(mktemp -d)`;
  }

  const failedTrials: string[] = [];
  let runDir: string | null = null;
  if (values['skip-accuracy']) progress.log('2/3 accuracy run: skipped (--skip-accuracy)');
  else {
    progress.log('2/3 accuracy run');
    runDir = path.join(historyDir(historyRoot, provenance.fingerprint), 'runs', nightStamp(date));
    const rows = await runSuite({
      suite,
      trials: expandTrials(suite),
      runDir,
      resume: false,
      provenance,
      dataRoot: values['data-dir'] ?? path.join(REPO_ROOT, 'data'),
      progress,
      argv: process.argv.slice(2),
      shard: null,
    });
    // A diverged or out-of-memory trial is a result (seeded and machine-independent, so a code change):
    // it is listed as a failure, like a failed self-check.
    const ok = finalRows(rows).filter((r) => {
      if (r.status !== 'ok') failedTrials.push(`${r.label} seed ${r.seed}: ${r.status} (${r.error})`);
      return r.status === 'ok';
    });
    const push = (key: string, value: number, unit: 'accuracy' | 'gain') => {
      measurements[key] ??= { unit, better: 'higher', samples: [] };
      measurements[key].samples.push(value);
    };
    for (const r of ok) {
      push(`accuracy/${r.label}/${r.dataset}`, r.metrics.linear, 'accuracy');
      // The gain over the untrained network of the same seed: what the method learned, apart from the floor.
      const floor = ok.find((f) => roleOf(f) === 'floor' && f.dataset === r.dataset && f.seed === r.seed);
      if (floor && roleOf(r) !== 'floor') push(`gain/${r.label}/${r.dataset}`, r.metrics.linear - floor.metrics.linear, 'gain');
    }
  }

  progress.log('3/3 reference self-check');
  const checks = await checkFixtureDir(path.resolve(values.fixtures ?? FIXTURES));
  const selfcheck = {
    passed: checks.filter((c) => c.pass).length,
    failed: checks.filter((c) => !c.pass).map((c) => `${c.fixture}${c.error ? ` (${c.error})` : ''}`),
  };
  const failures = { selfcheck: selfcheck.failed, trials: failedTrials };

  const file = saveNight(historyRoot, {
    schema: 1,
    fingerprint: provenance.fingerprint,
    date,
    commit: provenance.git.commit,
    dirty: provenance.git.dirty,
    backend: backend.label,
    machine: provenance.machine,
    measurements,
    selfcheck,
    run_dir: runDir,
    ab,
  });
  const nights = loadNights(historyRoot, provenance.fingerprint);
  const judgements = judgeTonight(nights, detector);
  const markdown = nightlyMarkdown(judgements, selfcheck, failedTrials, {
    fingerprint: provenance.fingerprint,
    nights: nights.length,
    commit: provenance.git.commit,
    o: detector,
    ab: ab && { record: ab, reproduce },
  });
  const report = await writeNightlyReport(
    path.join(historyDir(historyRoot, provenance.fingerprint), 'report'),
    nights,
    judgements,
    markdown,
    detector,
  );
  progress.log(`history: ${file}\npage: ${report.html}\nsummary: ${report.markdown}`);
  // The A/B decides for the lines it measured; history decides for the rest (the accuracy lines).
  const confirmed = [
    ...(ab?.judgements.filter((j) => j.confirmed) ?? []),
    ...judgements.filter((j) => j.confirmed && !ab?.judgements.some((x) => x.name === j.name)),
  ];
  if (values.json)
    process.stdout.write(
      `${JSON.stringify({ fingerprint: provenance.fingerprint, night: file, page: report.html, summary: report.markdown, selfcheck, failed_trials: failedTrials, judgements, ab: ab ?? null })}\n`,
    );
  else process.stdout.write(markdown);
  return confirmed.length > 0 || failures.selfcheck.length > 0 || failures.trials.length > 0 ? 1 : 0;
}

// Exit 2 for any failure of the run itself (bad flags included), so 1 always means "regression".
main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${failureText(e)}\n`);
    process.exit(2);
  },
);
