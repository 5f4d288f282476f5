/**
 * Faults a run must survive with its directory intact (readable by report, resumable with --resume, no partial
 * file left): a torn last row, a full disk (a write failure injected with SSL_BENCH_FAULT=disk-full:FILE), a
 * trial that throws, and input that would run nothing or the same trial twice. Tiny suites on the synthetic set.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeManifest } from '../src/results/manifest.js';
import { readRows } from '../src/results/store.js';
import { resultRow, TINY_EVALUATION, writeTinySuite } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-faults-'));
const DATA = path.join(TMP, 'data');

const EVALUATION = {
  ...TINY_EVALUATION,
  bag: { patches: [] },
  testCost: { patches: [] },
};

const writeSuite = (name: string, over: Record<string, unknown> = {}) => writeTinySuite(TMP, name, EVALUATION, over);

function run(cli: string, args: string[], fault?: string) {
  const env = { ...process.env };
  if (fault) env.SSL_BENCH_FAULT = fault;
  else delete env.SSL_BENCH_FAULT;
  return spawnSync(TSX, [cli, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 600_000, env });
}

const bench = (args: string[], fault?: string) => run('bench/bench.ts', [`--data-dir=${DATA}`, ...args], fault);

/** Every file under `dir`, relative to it. */
function allFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

/** The directory is whole: a parseable manifest, every results line a row, no temporary file, readers happy. */
function expectIntact(dir: string): void {
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')).trials.length).toBeGreaterThan(0);
  expect(allFiles(dir).filter((f) => /\.tmp/.test(f))).toEqual([]);
  const results = path.join(dir, 'results.jsonl');
  if (fs.existsSync(results)) {
    const text = fs.readFileSync(results, 'utf8');
    if (text.length > 0) expect(text.endsWith('\n')).toBe(true);
    for (const line of text.split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
  }
  const warnings: string[] = [];
  readRows(dir, (w) => warnings.push(w));
  expect(warnings).toEqual([]);
}

/** A known failure: one short message, no stack trace. */
function expectNoStack(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at /m);
}

// Each test runs the bench two or three times: more than the default limit on a busy 2-core machine.
describe('faults leave the run directory intact', { timeout: 400_000 }, () => {
  beforeAll(() => fs.mkdirSync(DATA, { recursive: true }));

  it('a torn last row is cut away before --resume appends; report and resume then read the directory', () => {
    const out = path.join(TMP, 'torn');
    const suite = writeSuite('torn');
    expect(bench([`--suite=${suite}`, `--out=${out}`]).status).toBe(0);
    // As a run killed while writing its final row leaves it: the first row whole, the second cut in half.
    const results = path.join(out, 'results.jsonl');
    const [first, second] = fs.readFileSync(results, 'utf8').split('\n');
    fs.writeFileSync(results, `${first}\n${second.slice(0, second.length >> 1)}`);
    const resumed = bench([`--suite=${suite}`, `--out=${out}`, '--resume']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/warning: .*results\.jsonl:2: removed a torn last row/);
    expectIntact(out);
    const rows = readRows(out);
    expect(rows[0]).toEqual(JSON.parse(first)); // the whole row is kept as it was
    expect(rows.filter((r) => r.final).map((r) => r.status)).toEqual(['ok']);
    const report = run('bench/report.ts', [out]);
    expect(report.status, report.stderr).toBe(0);
  });

  it('a full disk while checkpointing stops the run with the cause and the fix, leaves no partial file, and --resume finishes', () => {
    const out = path.join(TMP, 'full-ckpt');
    const suite = writeSuite('full-ckpt');
    const full = bench([`--suite=${suite}`, `--out=${out}`], 'disk-full:.ckpt');
    expect(full.status).toBe(1);
    expect(full.stderr).toMatch(
      /error: cannot write \S+checkpoints\/\w+\.ckpt: no space left on the device \(ENOSPC\); free space there .*; then run the same command with --resume/,
    );
    expectNoStack(full.stderr);
    expectIntact(out);
    expect(readRows(out)).toEqual([]); // the trial is not recorded as failed: the disk failed, not the trial
    // A temporary that a process killed mid-write left (it would keep a full disk full) is removed at the next start.
    const id = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')).trials[0].id;
    fs.writeFileSync(path.join(out, 'checkpoints', `${id}.ckpt.tmp-999999`), 'partial');
    fs.writeFileSync(path.join(out, 'manifest.json.tmp-999999'), '');
    const resumed = bench([`--suite=${suite}`, `--out=${out}`, '--resume']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/removed 2 partial file\(s\)/);
    expectIntact(out);
    expect(readRows(out).map((r) => [r.point, r.status])).toEqual([
      [0, 'ok'],
      [1, 'ok'],
    ]);
    expect(fs.readdirSync(path.join(out, 'checkpoints'))).toEqual([]);
  });

  it('a full disk while appending a row cuts the partial row off; a full disk for the manifest leaves no temporary', () => {
    const out = path.join(TMP, 'full-rows');
    const suite = writeSuite('full-rows');
    const full = bench([`--suite=${suite}`, `--out=${out}`], 'disk-full:results.jsonl');
    expect(full.status).toBe(1);
    expect(full.stderr).toMatch(/error: cannot write \S+results\.jsonl: no space left on the device \(ENOSPC\)/);
    expectNoStack(full.stderr);
    expect(fs.readFileSync(path.join(out, 'results.jsonl'), 'utf8')).toBe('');
    expectIntact(out);
    expect(bench([`--suite=${suite}`, `--out=${out}`, '--resume']).status).toBe(0);
    expect(readRows(out).filter((r) => r.final)).toHaveLength(1);

    const fresh = path.join(TMP, 'full-manifest');
    const noManifest = bench([`--suite=${suite}`, `--out=${fresh}`], 'disk-full:manifest.json');
    expect(noManifest.status).toBe(1);
    expect(noManifest.stderr).toMatch(
      /cannot write \S+manifest\.json: no space left on the device \(ENOSPC\).*then run the same command again$/m,
    );
    expect(allFiles(fresh).filter((f) => f.includes('manifest'))).toEqual([]);
  });

  it('a trial that throws is recorded as error and the others finish; the directory stays readable', () => {
    const out = path.join(TMP, 'throws');
    const suite = writeSuite('throws', {
      methods: [
        { method: 'simclr', batchImages: 8, label: 'simclr-broken' },
        { method: 'byol', batchImages: 8 },
      ],
    });
    const r = bench([`--suite=${suite}`, `--out=${out}`], 'throw-at-step:simclr-broken');
    expect(r.status).toBe(1);
    expectIntact(out);
    const finals = readRows(out).filter((x) => x.final);
    expect(finals.map((x) => [x.label, x.status]).sort()).toEqual([
      ['byol', 'ok'],
      ['simclr-broken', 'error'],
    ]);
    expect(fs.readFileSync(path.join(out, 'summary.csv'), 'utf8').trim().split('\n')).toHaveLength(3);
    expect(fs.readdirSync(path.join(out, 'checkpoints'))).toEqual([]);
    expect(run('bench/report.ts', [out]).status).toBe(0);
  });

  it('opens every dataset before the first trial: all missing ones named at once, no run directory made (exit 1)', () => {
    const out = path.join(TMP, 'no-data');
    const suite = writeSuite('no-data', { datasets: ['synthetic', 'cifar10', 'cifar100'] });
    const r = bench([`--suite=${suite}`, `--out=${out}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error: 2 of the run's 3 dataset\(s\) cannot be read \(data root \S+\); nothing was run/);
    expect(r.stderr).toMatch(/^ {2}cifar10: no CIFAR-10 at /m);
    expect(r.stderr).toMatch(/^ {2}cifar100: .*CIFAR-100/m);
    expect(r.stderr).toMatch(/or name another data root with --data-dir$/m);
    expectNoStack(r.stderr);
    expect(r.stdout).not.toMatch(/\[1\/\d+\]/); // no trial started
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a damaged manifest.json or a garbage row mid-file is named with its fix, no stack trace (exit 1)', () => {
    const dir = path.join(TMP, 'damaged');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{"run_id": "x", "tri');
    const manifest = run('bench/report.ts', [dir]);
    expect(manifest.status).toBe(1);
    expect(manifest.stderr).toMatch(/error: \S+damaged\/manifest\.json is not valid JSON .*restore it from a copy/);
    expectNoStack(manifest.stderr);
    // Valid JSON without a manifest's fields: the first one missing is named.
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ run_id: 'x', trials: [] }));
    const partial = run('bench/report.ts', [dir]);
    expect(partial.status).toBe(1);
    expect(partial.stderr).toMatch(
      /error: \S+damaged\/manifest\.json is not a run manifest this code can read: started is missing .*restore it from a copy/,
    );
    expectNoStack(partial.stderr);
    writeManifest(dir, {
      run_id: 'x',
      started: 'now',
      last_started: 'now',
      argv: [],
      suite: { name: 'damaged', evaluation: { targets: {} } },
      trials: [],
      provenance: {},
      rules: { training_flops: '', memory: {}, time: '' },
      departures: {},
    });
    const row = JSON.stringify(resultRow());
    fs.writeFileSync(path.join(dir, 'results.jsonl'), `${row}\nnot a row\n${row}\n`);
    const rows = run('bench/report.ts', [dir]);
    expect(rows.status).toBe(1);
    expect(rows.stderr).toMatch(/error: \S+results\.jsonl:2 is not a JSON row; the file is corrupt .*restore the line, or delete it/);
    expectNoStack(rows.stderr);
    expect(run('bench/report.ts', [dir, '--debug']).stderr).toMatch(/^\s+at /m); // the trace, when asked for
  });

  it('refuses an empty or repeated --methods/--datasets list before creating anything (exit 2)', () => {
    const out = path.join(TMP, 'empty');
    const cases: [string[], RegExp][] = [
      [['--methods='], /--methods is empty; name at least one/],
      [['--methods=', '--plan'], /--methods is empty/],
      [['--datasets=,'], /--datasets is empty/],
      [['--methods=simclr,simclr'], /--methods gives simclr more than once/],
      [['--datasets=synthetic,synthetic', '--plan'], /--datasets gives synthetic more than once/],
    ];
    for (const [args, message] of cases) {
      const r = bench([`--suite=${writeSuite('empty')}`, `--out=${out}`, ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expectNoStack(r.stderr);
    }
    expect(fs.existsSync(out)).toBe(false);
  });
});
