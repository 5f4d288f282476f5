/**
 * npm run nightly -- [--history=DIR] [--baseline=N] [--json]: micro-benchmarks, a short fixed-budget
 * accuracy run and the reference self-check, saved as tonight's entry in the history and compared with
 * the last N nights of the same machine. Exit 0: no confirmed regression; 1: a confirmed regression, a
 * failed self-check or a diverged nightly trial; 2: the run itself failed.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkFixtureDir } from '../src/selfcheck.js';
import { DEFAULT_DETECTOR, judgeTonight } from '../reports/regression.js';
import { historyDir, loadNights, nightlyMarkdown, nightStamp, saveNight, writeNightlyReport } from '../reports/nightly_report.js';
import { BACKEND_CHOICES, describeBackend, initBackend } from '../engine/backends/select.js';
import { runMicroBenchmarks } from '../src/cases/nightly_micro.js';
import { failureText, parseBackendFlag, parseFlags, parseIntFlag, UsageError } from '../src/cli.js';
import { collectProvenance } from '../src/measure/provenance.js';
import { finalRows } from '../src/results/summary.js';
import { Progress } from '../src/runner/progress.js';
import { runSuite } from '../src/runner/run.js';
import { applyOverrides, loadSuite, SuiteError } from '../src/runner/suite.js';
import { expandTrials } from '../src/runner/trials.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = path.resolve(REPO_ROOT, '..', 'shared', 'reference', 'losses');

const USAGE = `usage: npm run nightly -- [options]

Tonight's micro-benchmarks (a training step per method, augmentation, kNN, linear probe, logdet; tinybench,
raw samples kept), a short fixed-budget accuracy run (bench/suites/nightly.json) and the reference
self-check, saved in the history and compared with the last N nights on this machine. Writes a Markdown
summary and an HTML page of trend charts; prints the summary.

options:
  --history=DIR     history root (default ./history); nights are kept per machine fingerprint
  --baseline=N      nights to compare with (default ${DEFAULT_DETECTOR.baseline})
  --threshold=PCT   relative change that counts as large, in percent (default ${100 * DEFAULT_DETECTOR.threshold})
  --suite=NAME|FILE the accuracy run's suite (default nightly)
  --methods=a,b     restrict micro-benchmarks and the accuracy run to these methods
  --bench-time=MS   tinybench measuring time per micro-benchmark (default 2000)
  --fixtures=DIR    loss reference fixtures (default ../shared/reference/losses)
  --backend=NAME    ${BACKEND_CHOICES.join('|')} (default auto)
  --data-dir=DIR    dataset root for the accuracy run
  --json            print tonight's judgements as JSON instead of the Markdown summary

exit status: 0 no confirmed regression, 1 a confirmed regression, a failed self-check or a diverged\nnightly trial, 2 the run itself failed`;

async function main(): Promise<number> {
  const { values } = parseFlags(
    process.argv.slice(2),
    {
      history: { type: 'string' },
      baseline: { type: 'string' },
      threshold: { type: 'string' },
      suite: { type: 'string' },
      methods: { type: 'string' },
      'bench-time': { type: 'string' },
      fixtures: { type: 'string' },
      backend: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const detector = { ...DEFAULT_DETECTOR, baseline: parseIntFlag('baseline', values.baseline, DEFAULT_DETECTOR.baseline, 1, 365) };
  if (values.threshold !== undefined) detector.threshold = parseIntFlag('threshold', values.threshold, 5, 1, 100) / 100;
  const methods = values.methods
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
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

  progress.log('1/3 micro-benchmarks');
  const micro = await runMicroBenchmarks({
    methods: suite.methods.map((m) => m.method),
    images: 16,
    timeMs: parseIntFlag('bench-time', values['bench-time'], 2000, 10),
    log: (l) => progress.log(l),
  });
  for (const m of micro) measurements[m.name] = { unit: 'ms', better: 'lower', samples: m.samples };

  progress.log('2/3 accuracy run');
  const runDir = path.join(historyDir(historyRoot, provenance.fingerprint), 'runs', nightStamp(date));
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
  const failedTrials: string[] = [];
  for (const r of finalRows(rows)) {
    if (r.status !== 'ok') {
      failedTrials.push(`${r.label} seed ${r.seed}: ${r.status} (${r.error})`);
      continue;
    }
    const key = `accuracy/${r.label}/${r.dataset}`;
    measurements[key] ??= { unit: 'accuracy', better: 'higher', samples: [] };
    measurements[key].samples.push(r.metrics.linear);
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
  });
  const nights = loadNights(historyRoot, provenance.fingerprint);
  const judgements = judgeTonight(nights, detector);
  const markdown = nightlyMarkdown(judgements, selfcheck, failedTrials, {
    fingerprint: provenance.fingerprint,
    nights: nights.length,
    commit: provenance.git.commit,
    o: detector,
  });
  const report = await writeNightlyReport(
    path.join(historyDir(historyRoot, provenance.fingerprint), 'report'),
    nights,
    judgements,
    markdown,
    detector,
  );
  progress.log(`history: ${file}\npage: ${report.html}\nsummary: ${report.markdown}`);
  const confirmed = judgements.filter((j) => j.confirmed);
  if (values.json)
    process.stdout.write(
      `${JSON.stringify({ fingerprint: provenance.fingerprint, night: file, page: report.html, summary: report.markdown, selfcheck, failed_trials: failedTrials, judgements })}\n`,
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
