/** npm run nightly end to end, twice into a temporary history (tiny suite, short micro-benchmarks). */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOSSES } from '../src/selfcheck.js';
import { lossFixtureDir } from './requirements.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-nightly-'));
const HISTORY = path.join(TMP, 'history');
const SUITE = path.join(TMP, 'suite.json');
// The self-check's fixtures: the project's own (its default, ../shared/reference/losses, is not in a bare clone).
const FIXTURES = lossFixtureDir(Object.keys(LOSSES), path.join(TMP, 'fixtures')).dir;
fs.writeFileSync(
  SUITE,
  JSON.stringify({
    name: 'tiny-nightly',
    methods: [{ method: 'simclr', batchImages: 8 }, 'random-init'],
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
    [
      'bench/nightly.ts',
      `--history=${HISTORY}`,
      `--suite=${SUITE}`,
      '--bench-time=50',
      '--baseline-ref=none',
      `--data-dir=${path.join(TMP, 'data')}`,
      `--fixtures=${FIXTURES}`,
      ...args,
    ],
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
    // The gain over the untrained network of the same seed, a line of its own.
    const gain = night.measurements['gain/simclr/synthetic'];
    expect(gain.unit).toBe('gain');
    const floor = night.measurements['accuracy/random-init/synthetic'].samples;
    gain.samples.forEach((g: number, seed: number) =>
      expect(g).toBeCloseTo(night.measurements['accuracy/simclr/synthetic'].samples[seed] - floor[seed], 10),
    );
    expect(night.measurements['gain/random-init/synthetic']).toBeUndefined();

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

  it('A/B: compares two commits side by side tonight and names the slower one, both commits and the change', () => {
    // Two tiny commits of this project in a scratch repository: B adds a 60 ms spin to the kNN evaluation.
    const repo = path.join(TMP, 'repo');
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const f of files) if (fs.existsSync(path.join(ROOT, f))) fs.cpSync(path.join(ROOT, f), path.join(repo, f), { recursive: true });
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false', ...args], {
        cwd: repo,
        encoding: 'utf8',
      }).trim();
    git('init', '-q');
    // The packages are this checkout's, linked, never committed (.gitignore's node_modules/ matches folders only).
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(repo, 'node_modules'), 'dir');
    fs.appendFileSync(path.join(repo, '.git', 'info', 'exclude'), 'node_modules\n');
    git('add', '-A');
    git('commit', '-qm', 'A');
    const a = git('rev-parse', 'HEAD');
    const knn = path.join(repo, 'src', 'eval', 'knn.ts');
    const source = fs.readFileSync(knn, 'utf8');
    const spun = source.replace(
      /export async function knnAccuracy\(([^)]*)\)([^{]*)\{/,
      (m) => `${m}\n  for (const end = performance.now() + 60; performance.now() < end; );`,
    );
    expect(spun).not.toBe(source);
    fs.writeFileSync(knn, spun);
    git('commit', '-qam', 'B: slower kNN');
    const b = git('rev-parse', 'HEAD');

    const r = spawnSync(
      TSX,
      [
        'bench/nightly.ts',
        `--history=${path.join(TMP, 'ab-history')}`,
        `--baseline-ref=${a}`,
        '--skip-accuracy',
        '--methods=simclr',
        '--only=eval/knn-2000x500x128,op/logdet-20x64x64-with-grad,step/simclr',
        '--rounds=3',
        '--bench-time=80',
        `--fixtures=${FIXTURES}`,
        '--json',
      ],
      { cwd: repo, encoding: 'utf8', timeout: 600_000 },
    );
    expect(r.status, r.stderr).toBe(0); // one night flags; only the next can confirm
    const out = JSON.parse(r.stdout);
    expect(out.ab.baseline_commit).toBe(a);
    expect(out.ab.commit).toBe(b);
    expect(out.ab.rounds).toBe(3);
    const judged = Object.fromEntries(out.ab.judgements.map((j: { name: string }) => [j.name, j]));
    expect(Object.keys(judged).sort()).toEqual(['eval/knn-2000x500x128', 'op/logdet-20x64x64-with-grad', 'step/simclr']);
    const slow = judged['eval/knn-2000x500x128'];
    expect(slow.direction).toBe('regression');
    expect(slow.low).toBeGreaterThan(0); // 60 ms more on a call of ~20 ms here
    expect(slow.b).toBeGreaterThan(slow.a + 40);
    const summary = fs.readFileSync(out.summary, 'utf8');
    expect(summary).toContain(`Same-night A/B: ${b.slice(0, 10)} (B) against ${a.slice(0, 10)} (A)`);
    expect(summary).toMatch(
      new RegExp(`Flagged: eval/knn-2000x500x128, ${b.slice(0, 10)} against ${a.slice(0, 10)}: \\+\\d+\\.\\d% \\(95 % interval`),
    );
    expect(summary).toContain(`npm run nightly -- --baseline-ref=${a.slice(0, 10)} --methods=simclr --only=eval/knn-2000x500x128 `);
    expect(out.ab.only_tonight).toEqual([]);
    // The baseline's worktree is gone afterwards.
    expect(git('worktree', 'list').split('\n')).toHaveLength(1);
  });

  it('exits 2 when the run itself fails', () => {
    const r = nightly(['--baseline=0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--baseline must be an integer from 1 to 365/);
  });
});
