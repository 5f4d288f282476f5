/**
 * Statistics shared by evaluation, summaries and reports. The seed is the unit of replication: every interval
 * here is over seeds (runs), never over evaluation draws or points of one run.
 *
 * Library: Student's t quantiles from @stdlib/stats-base-dists-t-quantile; sampling with replacement for the
 * bootstrap from the project's seeded generator (engine/random.ts), so a report is reproducible.
 */
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { Rng } from '../engine/random.js';

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1); 0 for fewer than two values. */
export function sd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** Mean and half-width of its 95 % confidence interval (t-distribution); half-width null for one value. */
export function meanCi95(xs: number[]): { mean: number; halfWidth: number | null; n: number } {
  const n = xs.length;
  if (n < 2) return { mean: n ? xs[0] : NaN, halfWidth: null, n };
  return { mean: mean(xs), halfWidth: (tQuantile(0.975, n - 1) * sd(xs)) / Math.sqrt(n), n };
}

/** A mean with its two-sided 95 % t-interval over `n` values; low and high null below two values. */
export interface Interval {
  mean: number;
  low: number | null;
  high: number | null;
  n: number;
}

export function tInterval(xs: number[]): Interval {
  const ci = meanCi95(xs);
  if (ci.halfWidth === null) return { mean: ci.mean, low: null, high: null, n: ci.n };
  return { mean: ci.mean, low: ci.mean - ci.halfWidth, high: ci.mean + ci.halfWidth, n: ci.n };
}

/**
 * Per-seed differences a - b over the seeds both have (a paired design: the same seed gives both methods the
 * same initial weights and image order), with their t-interval; `seeds` lists the seeds paired.
 */
export function pairedDifference(a: Map<number, number>, b: Map<number, number>): Interval & { seeds: number[]; differences: number[] } {
  const seeds = [...a.keys()].filter((s) => b.has(s)).sort((x, y) => x - y);
  const differences = seeds.map((s) => a.get(s)! - b.get(s)!);
  return { ...tInterval(differences), seeds, differences };
}

/**
 * Probability of improvement P(X > Y) as rliable defines it: the Mann-Whitney U statistic over all pairs of
 * runs divided by their number, ties counting one half. NaN when either side is empty.
 */
export function probabilityOfImprovement(xs: number[], ys: number[]): number {
  if (xs.length === 0 || ys.length === 0) return NaN;
  let u = 0;
  for (const x of xs) for (const y of ys) u += x > y ? 1 : x === y ? 0.5 : 0;
  return u / (xs.length * ys.length);
}

/**
 * Interquartile mean: the mean of the middle 50 % (scipy's trim_mean(x, 0.25), which rliable uses: a quarter
 * of the values, rounded down, cut from each end).
 */
export function iqm(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const cut = Math.floor(s.length * 0.25);
  return mean(s.slice(cut, s.length - cut));
}

/** The q-quantile of sorted values by linear interpolation (numpy's default, as rliable's percentile interval). */
function quantileSorted(s: number[], q: number): number {
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  return lo + 1 < s.length ? s[lo] + (h - lo) * (s[lo + 1] - s[lo]) : s[lo];
}

/**
 * Stratified bootstrap (rliable's `get_interval_estimates`): runs are resampled with replacement within each
 * task (dataset), `statistic` is computed on all tasks' resampled runs together, and the 95 % percentile
 * interval of `reps` replicates is returned with the statistic of the data itself. Seeded: the same call gives
 * the same interval.
 */
export function stratifiedBootstrap(
  tasks: number[][],
  statistic: (runs: number[]) => number,
  { reps = 10000, seed = 0 }: { reps?: number; seed?: number } = {},
): { estimate: number; low: number; high: number } {
  const rng = new Rng(seed).fork('stratified bootstrap');
  const all = tasks.flat();
  const replicates = new Float64Array(reps);
  const sample: number[] = new Array(all.length);
  for (let r = 0; r < reps; r++) {
    let k = 0;
    for (const runs of tasks) for (let i = 0; i < runs.length; i++) sample[k++] = runs[rng.int(runs.length)];
    replicates[r] = statistic(sample);
  }
  const sorted = [...replicates].sort((a, b) => a - b);
  return { estimate: statistic(all), low: quantileSorted(sorted, 0.025), high: quantileSorted(sorted, 0.975) };
}
