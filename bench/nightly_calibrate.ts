/**
 * npm run nightly:calibrate: measures the nightly's decision rules on this machine. Runs `npm run nightly`
 * (micro-benchmarks only, A/B of this checkout against HEAD) for --nights nights on unchanged code, then,
 * for each --slowdowns size, two more nights from a copy of that history with one benchmark slowed by that
 * fraction on tonight's side (SSL_BENCH_INJECT_SLOWDOWN, a hook only this command sets). Prints, for the
 * A/B rule and the history rule side by side, the false alarms on unchanged code and when each slowdown was
 * flagged and confirmed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtChange } from '../reports/nightly_report.js';
import { INJECT_ENV } from '../src/cases/nightly_micro.js';
import { listFlag, parseFlags, parseIntFlag, runMain, UsageError } from '../src/cli.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `usage: npm run nightly:calibrate -- [options]

Runs the nightly's micro-benchmark A/B (this checkout against HEAD, so commit first: tonight's side must be
the same code) N nights on unchanged code, then two nights per injected slowdown, and prints how often each
rule (same-night A/B; against history) flags and confirms. About 90 s per night with the defaults.

options:
  --nights=N          nights on unchanged code (default 5)
  --slowdowns=a,b     injected slowdowns as fractions (default 0.1,0.2,0.5)
  --inject=NAME       the benchmark slowed (default step/simclr)
  --methods=a,b       methods of the micro-benchmarks (default simclr,byol)
  --rounds=N          A/B rounds per night (default 5)
  --bench-time=MS     measuring time per benchmark, side and round (default 500)
  --out=DIR           where the histories go (default a temporary folder)
  --json              print the table as JSON`;

interface NightOutcome {
  scenario: string;
  night: number;
  ab: { name: string; change: number; low: number; high: number; direction: string; confirmed: boolean }[];
  history: { name: string; change: number | null; direction: string; confirmed: boolean }[];
}

runMain(async () => {
  const { values } = parseFlags(
    process.argv.slice(2),
    {
      nights: { type: 'string' },
      slowdowns: { type: 'string' },
      inject: { type: 'string' },
      methods: { type: 'string' },
      rounds: { type: 'string' },
      'bench-time': { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const nights = parseIntFlag('nights', values.nights, 5, 1, 50);
  const slowdowns = (listFlag(values.slowdowns) ?? ['0.1', '0.2', '0.5']).map((s) => {
    const f = Number(s);
    if (!(f > 0 && f < 10)) throw new UsageError(`--slowdowns: each must be a fraction > 0, got "${s}"`);
    return f;
  });
  const inject = values.inject ?? 'step/simclr';
  const methods = values.methods ?? 'simclr,byol';
  const rounds = parseIntFlag('rounds', values.rounds, 5, 2, 50);
  const benchTime = parseIntFlag('bench-time', values['bench-time'], 500, 10);
  // Tonight's side is the working tree, the baseline HEAD: they must be the same code.
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  if (dirty)
    throw new UsageError(
      `commit or stash your changes first: the calibration compares this checkout with HEAD as unchanged code\n${dirty}`,
    );
  const out = path.resolve(values.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'nightly-calibrate-')));
  const log = (l: string) => process.stderr.write(`${l}\n`);

  const night = (history: string, scenario: string, n: number, slowdown: number | null): NightOutcome => {
    log(`${scenario}, night ${n}`);
    const r = spawnSync(
      path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
      [
        'bench/nightly.ts',
        `--history=${history}`,
        '--baseline-ref=HEAD',
        '--skip-accuracy',
        `--methods=${methods}`,
        `--rounds=${rounds}`,
        `--bench-time=${benchTime}`,
        '--json',
      ],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env: { ...process.env, [INJECT_ENV]: slowdown === null ? '' : `${inject}=${slowdown}` },
        timeout: 1_800_000,
        maxBuffer: 64 << 20,
      },
    );
    // Exit 1 is a confirmed regression: an outcome here, not a failure.
    if (r.status !== 0 && r.status !== 1)
      throw new Error(`the nightly failed (exit ${r.status}):\n${r.stderr.trim().split('\n').slice(-6).join('\n')}`);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    return {
      scenario,
      night: n,
      ab: j.ab.judgements.map((x: NightOutcome['ab'][number]) => ({
        name: x.name,
        change: x.change,
        low: x.low,
        high: x.high,
        direction: x.direction,
        confirmed: x.confirmed,
      })),
      history: j.judgements.map((x: NightOutcome['history'][number]) => ({
        name: x.name,
        change: x.change,
        direction: x.direction,
        confirmed: x.confirmed,
      })),
    };
  };

  const outcomes: NightOutcome[] = [];
  const unchanged = path.join(out, 'unchanged');
  for (let n = 1; n <= nights; n++) outcomes.push(night(unchanged, 'unchanged', n, null));
  for (const s of slowdowns) {
    const history = path.join(out, `slowdown-${s}`);
    fs.cpSync(unchanged, history, { recursive: true });
    for (let n = 1; n <= 2; n++) outcomes.push(night(history, `${inject} +${Math.round(100 * s)}%`, n, s));
  }

  const list = (xs: { name: string; direction: string; confirmed: boolean }[], confirmed: boolean) =>
    xs
      .filter((x) => x.direction === 'regression' && (!confirmed || x.confirmed))
      .map((x) => x.name)
      .join(', ') || '-';
  const injected = (o: NightOutcome) => o.ab.find((x) => x.name === inject);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ out, inject, methods, rounds, bench_time_ms: benchTime, outcomes })}\n`);
    return;
  }
  const lines = [
    `| scenario | night | A/B: flagged | A/B: confirmed | history: flagged | history: confirmed | ${inject} A/B change (95 % interval) |`,
    '| --- | ---: | --- | --- | --- | --- | --- |',
    ...outcomes.map((o) => {
      const i = injected(o);
      return `| ${o.scenario} | ${o.night} | ${list(o.ab, false)} | ${list(o.ab, true)} | ${list(o.history, false)} | ${list(o.history, true)} | ${i ? `${fmtChange(i.change)} (${fmtChange(i.low)} to ${fmtChange(i.high)})` : '-'} |`;
    }),
  ];
  const falseAlarms = (rule: 'ab' | 'history', confirmed: boolean) =>
    outcomes
      .filter((o) => o.scenario === 'unchanged')
      .reduce((n, o) => n + o[rule].filter((x) => x.direction === 'regression' && (!confirmed || x.confirmed)).length, 0);
  lines.push(
    '',
    `On unchanged code (${nights} nights x ${outcomes[0].ab.length} benchmarks): A/B rule ${falseAlarms('ab', false)} flagged, ${falseAlarms('ab', true)} confirmed; history rule ${falseAlarms('history', false)} flagged, ${falseAlarms('history', true)} confirmed.`,
    `Histories: ${out}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
});
