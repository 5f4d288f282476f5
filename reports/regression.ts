/**
 * Regression detection over nightly history, in the manner of asv: a change is flagged only when it is
 * both large (default >= 5 % of the baseline median) and clear of the noise, meaning either a one-sided
 * Mann-Whitney U test on the raw samples (p < 0.01) or a distance beyond 2.5 scaled MADs of the baseline
 * nights' medians; it is confirmed when the next night, against the same baseline, agrees.
 */
import { median } from '../src/stats.js';

export interface Measurement {
  unit: string;
  /** Which way is better: lower for times, higher for accuracies. */
  better: 'lower' | 'higher';
  samples: number[];
}

export interface Night {
  file: string;
  date: string;
  commit: string | null;
  /** Whether the checkout had uncommitted changes (its code was not quite `commit`). */
  dirty?: boolean | null;
  measurements: Record<string, Measurement>;
  /** The night's same-night A/B, where it ran (reports/ab_compare.ts). */
  ab?: {
    baseline_commit: string;
    injected?: string | null;
    judgements: { name: string; change: number; direction: string; confirmed?: boolean }[];
  };
}

export interface DetectorOptions {
  /** Relative change that counts as large. */
  threshold: number;
  /** Significance of the one-sided Mann-Whitney U test. */
  alpha: number;
  /** Scaled MADs of the baseline medians beyond which a change is clear. */
  madLimit: number;
  /** Baseline nights (the last N before the night judged). */
  baseline: number;
}

export const DEFAULT_DETECTOR: DetectorOptions = { threshold: 0.05, alpha: 0.01, madLimit: 2.5, baseline: 7 };

/** Standard normal upper tail, P(Z > z) (Abramowitz-Stegun 7.1.26 via erfc; |error| < 1.5e-7). */
function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/**
 * One-sided Mann-Whitney U: p-value for "values in `a` tend to be larger than in `b`", by the normal
 * approximation with tie correction and continuity correction.
 */
export function mannWhitneyGreater(a: number[], b: number[]): number {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return 1;
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  const ranks = new Array<number>(all.length);
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1].v === all[i].v) j++;
    const r = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) ranks[k] = r;
    const t = j - i + 1;
    tieTerm += t ** 3 - t;
    i = j + 1;
  }
  const r1 = all.reduce((s, x, i) => (x.g === 0 ? s + ranks[i] : s), 0);
  const u1 = r1 - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  if (sigma === 0) return 1;
  return normalUpperTail((u1 - (n1 * n2) / 2 - 0.5) / sigma);
}

/** Median absolute deviation scaled to estimate a normal's standard deviation. */
export function scaledMad(xs: number[]): number {
  const m = median(xs);
  return 1.4826 * median(xs.map((x) => Math.abs(x - m)));
}

export interface Judgement {
  name: string;
  unit: string;
  better: 'lower' | 'higher';
  value: number;
  baselineMedian: number | null;
  baselineNights: number;
  change: number | null;
  large: boolean;
  clear: boolean;
  p: number | null;
  direction: 'regression' | 'improvement' | 'none';
  flagged: boolean;
  confirmed: boolean;
}

/** Judges one measurement against baseline nights (oldest first). */
export function judge(name: string, m: Measurement, baseline: Measurement[], o: DetectorOptions = DEFAULT_DETECTOR): Judgement {
  const value = median(m.samples);
  const base: Judgement = {
    name,
    unit: m.unit,
    better: m.better,
    value,
    baselineMedian: null,
    baselineNights: baseline.length,
    change: null,
    large: false,
    clear: false,
    p: null,
    direction: 'none',
    flagged: false,
    confirmed: false,
  };
  if (baseline.length === 0) return base;
  const medians = baseline.map((b) => median(b.samples));
  const ref = median(medians);
  const change = ref === 0 ? 0 : (value - ref) / Math.abs(ref);
  const worse = m.better === 'lower' ? change > 0 : change < 0;
  const pooled = baseline.flatMap((b) => b.samples);
  // The test asks whether tonight moved in the worse direction (or the better one, for improvements).
  const worseSide = m.better === 'lower' ? mannWhitneyGreater(m.samples, pooled) : mannWhitneyGreater(pooled, m.samples);
  const betterSide = m.better === 'lower' ? mannWhitneyGreater(pooled, m.samples) : mannWhitneyGreater(m.samples, pooled);
  const p = worse ? worseSide : betterSide;
  const mad = medians.length >= 3 ? scaledMad(medians) : 0;
  const beyondMad = mad > 0 && Math.abs(value - ref) > o.madLimit * mad;
  const large = Math.abs(change) >= o.threshold;
  const clear = p < o.alpha || beyondMad;
  const flagged = large && clear;
  return {
    ...base,
    baselineMedian: ref,
    change,
    large,
    clear,
    p,
    direction: flagged ? (worse ? 'regression' : 'improvement') : 'none',
    flagged,
  };
}

/**
 * Tonight's judgement of every measurement (nights oldest first, tonight last): flagged against the N
 * nights before tonight; confirmed when last night was flagged as a regression against the N nights
 * before it, and tonight is too, against that same baseline.
 */
export function judgeTonight(nights: Night[], o: DetectorOptions = DEFAULT_DETECTOR): Judgement[] {
  const tonight = nights[nights.length - 1];
  const before = nights.slice(0, -1);
  return Object.entries(tonight.measurements).map(([name, m]) => {
    const history = (ns: Night[]) =>
      ns.map((n) => n.measurements[name]).filter((x): x is Measurement => x !== undefined && x.samples.length > 0);
    const j = judge(name, m, history(before).slice(-o.baseline), o);
    const yesterday = before[before.length - 1]?.measurements[name];
    if (j.direction === 'regression' && yesterday) {
      const older = history(before.slice(0, -1)).slice(-o.baseline);
      const wasFlagged = judge(name, yesterday, older, o).direction === 'regression';
      const stillFlagged = judge(name, m, older, o).direction === 'regression';
      j.confirmed = wasFlagged && stillFlagged;
    }
    return j;
  });
}
