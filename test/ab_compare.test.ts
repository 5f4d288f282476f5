import { describe, expect, it } from 'vitest';
import {
  type AbSamples,
  judgeAb,
  lastGoodCommit,
  noiseFloor,
  pastChanges,
  flaggedLastNight,
  t975,
  DEFAULT_AB_RULE,
} from '../reports/ab_compare.js';
import { Rng } from '../engine/random.js';

const rng = new Rng(7);
/**
 * A/B samples shaped like this machine's: each round's process has its own speed (sd `between`), samples
 * within a process vary little (sd 2 %); B is `slowdown` slower.
 */
function rounds(n: number, slowdown: number, between = 0.05): AbSamples {
  const side = (factor: number) =>
    Array.from({ length: n }, () => {
      const proc = 100 * factor * (1 + rng.normal() * between);
      return Array.from({ length: 20 }, () => proc * (1 + rng.normal() * 0.02));
    });
  return { name: 'step', unit: 'ms', better: 'lower', a: side(1), b: side(1 + slowdown) };
}

describe('same-night A/B rule', () => {
  it('uses the t quantiles of the interval', () => {
    expect(t975(1)).toBe(12.706);
    expect(t975(4)).toBe(2.776);
    expect(t975(100)).toBe(1.96);
  });

  it('flags a 50 % slowdown and gives an interval around it; does not flag unchanged code', () => {
    const slow = judgeAb(rounds(5, 0.5), [], false);
    expect(slow.direction).toBe('regression');
    expect(slow.low).toBeGreaterThan(0.2);
    expect(slow.high).toBeLessThan(0.9);
    expect(slow.change).toBeGreaterThan(slow.low);
    expect(slow.confirmed).toBe(false); // not flagged the night before
    expect(judgeAb(rounds(5, 0.5), [], true).confirmed).toBe(true);
    let flags = 0;
    for (let i = 0; i < 40; i++) if (judgeAb(rounds(5, 0), [], false).direction === 'regression') flags++;
    expect(flags).toBeLessThanOrEqual(2); // a 95 % interval and a 5 % floor: rare false flags
  });

  it('reads an improvement as one, and a fall in accuracy as a regression', () => {
    const faster = rounds(5, -0.4, 0.02);
    expect(judgeAb(faster, [], false).direction).toBe('improvement');
    expect(judgeAb({ ...faster, better: 'higher' }, [], false).direction).toBe('regression');
  });

  it('a change inside the noise floor of past nights is not flagged', () => {
    const s = rounds(6, 0.12, 0.01);
    expect(judgeAb(s, [], false).direction).toBe('regression'); // 5 % floor
    const noisyPast = [0.1, -0.08, 0.05, -0.12, 0.02];
    expect(noiseFloor(noisyPast, DEFAULT_AB_RULE)).toBeGreaterThan(0.12);
    expect(judgeAb(s, noisyPast, false).direction).toBe('none');
    expect(noiseFloor([0.01, -0.01], DEFAULT_AB_RULE)).toBe(0.05); // under 3 nights: the threshold alone
  });

  it('refuses a single round', () => {
    expect(() => judgeAb(rounds(1, 0), [], false)).toThrow(/at least 2 rounds/);
  });
});

describe('A/B history', () => {
  const night = (commit: string, direction: string, change = 0.01, confirmed = false) => ({
    commit,
    ab: { judgements: [{ name: 'step', change, direction, confirmed }] },
  });

  it('compares with the last commit that flagged nothing, so a flagged night is confirmed against the same baseline', () => {
    expect(lastGoodCommit([])).toBeNull();
    expect(lastGoodCommit([night('a', 'none'), night('b', 'none')])).toBe('b');
    expect(lastGoodCommit([night('a', 'none'), night('b', 'regression')])).toBe('a');
    expect(lastGoodCommit([night('a', 'none'), night('b', 'improvement')])).toBe('b');
    // Nights from before the A/B (no record) count as good.
    expect(lastGoodCommit([{ commit: 'old' }, night('b', 'regression')])).toBe('old');
    // A confirmed regression has been reported: its commit is the next baseline, so it fails one night, not every night.
    expect(lastGoodCommit([night('a', 'none'), night('b', 'regression'), night('c', 'regression', 0.3, true)])).toBe('c');
    // A dirty checkout or a calibration night's slowed side is no baseline.
    expect(lastGoodCommit([night('a', 'none'), { ...night('b', 'none'), dirty: true }])).toBe('a');
    expect(lastGoodCommit([night('a', 'none'), { commit: 'b', ab: { injected: 'step=0.2', judgements: [] } }])).toBe('a');
  });

  it('collects past changes and whether the last night flagged the benchmark', () => {
    const nights = [night('a', 'none', 0.02), night('b', 'none', -0.03), night('c', 'regression', 0.3), { commit: 'x' }];
    // Flagged nights stay out of the noise floor: a lasting change must not widen the floor that judges it.
    expect(pastChanges(nights, 'step')).toEqual([0.02, -0.03]);
    expect(pastChanges(nights, 'other')).toEqual([]);
    // The last night with an A/B counts (a night run without one does not break the chain).
    expect(flaggedLastNight(nights, 'step')).toBe(true);
    expect(flaggedLastNight(nights.slice(0, 2), 'step')).toBe(false);
  });
});
