/**
 * The nightly's decision rule: a same-night A/B of two commits' micro-benchmarks, run interleaved in
 * rounds (A B, B A, A B, ...; each run a fresh process), in the manner of `asv continuous` and Google
 * Benchmark's compare.py.
 *
 * Why rounds and not raw samples: on a shared machine most of the variance is between processes (thread
 * placement, JIT tiering, machine state), so samples within one process are not independent draws; a test
 * on them is overconfident (the old rule confirmed a 2x slowdown of code that had not changed). Here the unit
 * is the round: each round gives one paired log ratio ln(median B / median A) from two processes run side
 * by side, and the interval is a t interval over those ratios.
 *
 * A benchmark is flagged as a regression when the whole interval lies on the worse side of zero and the
 * estimated change is at least the noise floor: the larger of `threshold` and `floorMads` scaled MADs of
 * the changes this benchmark showed on past nights (mostly unchanged code: the A/B's own night-to-night
 * noise). It is confirmed when the previous night flagged it too (both against the last good commit).
 */
import { median } from '../src/stats.js';
import { scaledMad } from './regression.js';

export interface AbRule {
  /** Smallest relative change worth flagging. */
  threshold: number;
  /** Scaled MADs of past nights' A/B changes that a change must also clear (with >= 3 past nights). */
  floorMads: number;
  /** Past nights whose changes set the noise floor. */
  floorNights: number;
}

export const DEFAULT_AB_RULE: AbRule = { threshold: 0.05, floorMads: 3, floorNights: 10 };

/** One benchmark's per-round samples for each side: rounds[r] = samples of that round's process. */
export interface AbSamples {
  name: string;
  unit: string;
  better: 'lower' | 'higher';
  a: number[][];
  b: number[][];
}

export interface AbJudgement {
  name: string;
  unit: string;
  better: 'lower' | 'higher';
  /** Medians over rounds of each side's round medians. */
  a: number;
  b: number;
  rounds: number;
  /** Relative change B vs A, exp(mean log ratio) - 1, and its 95 % interval. */
  change: number;
  low: number;
  high: number;
  /** The change a flag needs: max(threshold, floorMads x MAD of past nights' changes). */
  floor: number;
  direction: 'regression' | 'improvement' | 'none';
  flagged: boolean;
  confirmed: boolean;
}

/** Two-sided 95 % Student t quantiles by degrees of freedom (1..30); the normal's beyond. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];
export const t975 = (df: number) => (df < 1 ? Number.POSITIVE_INFINITY : (T975[df - 1] ?? 1.96));

/**
 * The noise floor of one benchmark from its past nights' A/B changes (oldest first; only nights that
 * flagged nothing for it, so a real change, flagged night after night, never widens the floor that judges it).
 */
export function noiseFloor(pastChanges: number[], rule: AbRule): number {
  const recent = pastChanges.slice(-rule.floorNights);
  const spread = recent.length >= 3 ? rule.floorMads * scaledMad(recent) : 0;
  return Math.max(rule.threshold, spread);
}

/** Judges B against A. `pastChanges`: this benchmark's A/B changes on earlier nights; `flaggedLastNight`: whether the last night flagged it as a regression. */
export function judgeAb(s: AbSamples, pastChanges: number[], flaggedLastNight: boolean, rule: AbRule = DEFAULT_AB_RULE): AbJudgement {
  const rounds = Math.min(s.a.length, s.b.length);
  if (rounds < 2) throw new Error(`${s.name}: an A/B needs at least 2 rounds, got ${rounds}`);
  const aMed = s.a.slice(0, rounds).map(median);
  const bMed = s.b.slice(0, rounds).map(median);
  const logs = aMed.map((a, r) => Math.log(bMed[r] / a));
  const m = logs.reduce((x, y) => x + y, 0) / rounds;
  const sd = Math.sqrt(logs.reduce((x, y) => x + (y - m) ** 2, 0) / (rounds - 1));
  const half = (t975(rounds - 1) * sd) / Math.sqrt(rounds);
  const change = Math.expm1(m);
  const low = Math.expm1(m - half);
  const high = Math.expm1(m + half);
  const floor = noiseFloor(pastChanges, rule);
  // The interval excludes zero and the change clears the floor (on the log scale, so a slowdown and a
  // speed-up of the same factor count alike). For times a regression is a rise; for accuracies, a fall.
  const clear = (low > 0 || high < 0) && Math.abs(m) >= Math.log1p(floor);
  const rise = m > 0;
  const regression = clear && (s.better === 'lower' ? rise : !rise);
  const improvement = clear && !regression;
  const direction = regression ? 'regression' : improvement ? 'improvement' : 'none';
  return {
    name: s.name,
    unit: s.unit,
    better: s.better,
    a: median(aMed),
    b: median(bMed),
    rounds,
    change,
    low,
    high,
    floor,
    direction,
    flagged: direction !== 'none',
    confirmed: regression && flaggedLastNight,
  };
}

/** What the A/B needs from the history (nights oldest first): the `ab` record each night kept. */
export interface AbHistoryNight {
  commit: string | null;
  dirty?: boolean | null;
  ab?: { injected?: string | null; judgements: { name: string; change: number; direction: string; confirmed?: boolean }[] };
}

/** The changes of this benchmark on past nights whose A/B flagged nothing for it, oldest first. */
export function pastChanges(nights: AbHistoryNight[], name: string): number[] {
  return nights.flatMap((n) => n.ab?.judgements.filter((j) => j.name === name && j.direction === 'none').map((j) => j.change) ?? []);
}

/** Whether the last night with an A/B flagged this benchmark as a regression. */
export function flaggedLastNight(nights: AbHistoryNight[], name: string): boolean {
  const last = nights.filter((n) => n.ab).pop();
  return last?.ab?.judgements.some((j) => j.name === name && j.direction === 'regression') ?? false;
}

/**
 * The commit tonight is compared with: the latest night's commit that is a fair baseline, meaning its code
 * was that commit (not dirty), ran at its own speed (no injected slowdown), and left no regression awaiting
 * confirmation (a flagged night's commit is suspect, so the next night compares with the same good commit
 * and can confirm). A confirmed regression has been reported: its night becomes the baseline, so one
 * accepted change does not fail every later night. null without such a night.
 */
export function lastGoodCommit(nights: AbHistoryNight[]): string | null {
  for (let i = nights.length - 1; i >= 0; i--) {
    const n = nights[i];
    if (!n.commit || n.dirty || n.ab?.injected) continue;
    if (n.ab?.judgements.some((j) => j.direction === 'regression' && !j.confirmed)) continue;
    return n.commit;
  }
  return null;
}
