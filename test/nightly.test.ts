/** npm run nightly end to end, twice into a temporary history (tiny suite, short micro-benchmarks). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-nightly-'));
const HISTORY = path.join(TMP, 'history');
const SUITE = path.join(TMP, 'suite.json');
fs.writeFileSync(
  SUITE,
  JSON.stringify({
    name: 'tiny-nightly',
    methods: [{ method: 'simclr', batchImages: 8 }],
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

function nightly(args: string[]) {
  return spawnSync(
    TSX,
    ['bench/nightly.ts', `--history=${HISTORY}`, `--suite=${SUITE}`, '--bench-time=50', `--data-dir=${path.join(TMP, 'data')}`, ...args],
    { cwd: ROOT, encoding: 'utf8', timeout: 600_000 },
  );
}

describe('npm run nightly', () => {
  it('writes a night per run into the history, compares the second with the first, and renders page and summary', () => {
    const first = nightly(['--json']);
    expect(first.status, first.stderr).toBe(0);
    const one = JSON.parse(first.stdout);
    expect(one.selfcheck.failed).toEqual([]);
    expect(one.selfcheck.passed).toBeGreaterThan(0);
    const names = one.judgements.map((j: { name: string }) => j.name);
    for (const n of [
      'step/simclr',
      'augment/emp-ssl-20-patches-x10',
      'eval/knn-2000x500x128',
      'eval/linear-probe-2000x128-50it',
      'op/logdet-20x64x64-with-grad',
      'accuracy/simclr/synthetic',
    ])
      expect(names).toContain(n);
    expect(one.judgements.every((j: { baselineNights: number }) => j.baselineNights === 0)).toBe(true);
    const night = JSON.parse(fs.readFileSync(one.night, 'utf8'));
    expect(night.measurements['step/simclr'].samples.length).toBeGreaterThanOrEqual(3); // raw samples kept
    expect(night.measurements['accuracy/simclr/synthetic'].samples).toHaveLength(2); // one per seed

    const second = nightly([]);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^## Nightly ssl-budget-bench: /);
    expect(second.stdout).toMatch(/2 night\(s\) of history/);
    expect(second.stdout).toMatch(/\| step\/simclr \| [\d.]+ ms \| [\d.]+ ms \| [+-][\d.]+% \|/);
    expect(second.stdout).not.toMatch(/no baseline yet/);
    expect(second.stdout).not.toMatch(/REGRESSION \(confirmed\)/); // one night cannot confirm anything
    const dir = path.join(HISTORY, one.fingerprint);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.json'))).toHaveLength(2);
    const page = fs.readFileSync(path.join(dir, 'report', 'nightly.html'), 'utf8');
    expect((page.match(/<svg/g) ?? []).length).toBe(names.length); // a trend chart per benchmark
    expect(page).toContain('step/simclr');
    expect(fs.readFileSync(path.join(dir, 'report', 'summary.md'), 'utf8')).toBe(second.stdout);
  });

  it('exits 2 when the run itself fails', () => {
    const r = nightly(['--baseline=0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--baseline must be an integer from 1 to 365/);
  });
});
