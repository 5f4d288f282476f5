import { describe, expect, it } from 'vitest';
import { iqm, meanCi95, pairedDifference, probabilityOfImprovement, stratifiedBootstrap, tInterval } from '../src/stats.js';

describe('intervals over seeds', () => {
  it('uses Student t quantiles (12.706 for 1 degree of freedom, 4.303 for 2, 2.045 for 29)', () => {
    expect(meanCi95([17.5, 10]).halfWidth).toBeCloseTo((12.7062 * Math.sqrt(((17.5 - 13.75) ** 2 * 2) / 1)) / Math.sqrt(2), 3);
    const three = [1, 2, 3];
    expect(meanCi95(three).halfWidth).toBeCloseTo((4.3027 * 1) / Math.sqrt(3), 3);
    const thirty = Array.from({ length: 30 }, (_, i) => i);
    const s = Math.sqrt(thirty.reduce((a, x) => a + (x - 14.5) ** 2, 0) / 29);
    expect(meanCi95(thirty).halfWidth).toBeCloseTo((2.0452 * s) / Math.sqrt(30), 3);
  });
  it('has no interval for one value', () => {
    expect(tInterval([0.4])).toEqual({ mean: 0.4, low: null, high: null, n: 1 });
  });
  it('pairs by seed, ignoring seeds one side lacks', () => {
    const d = pairedDifference(
      new Map([
        [0, 0.7],
        [1, 0.8],
        [2, 0.9],
        [5, 0.1],
      ]),
      new Map([
        [2, 0.5],
        [0, 0.5],
        [1, 0.5],
      ]),
    );
    expect(d.seeds).toEqual([0, 1, 2]);
    expect(d.differences.map((x) => Number(x.toFixed(6)))).toEqual([0.2, 0.3, 0.4]);
    expect(d.mean).toBeCloseTo(0.3, 12);
    expect(d.low!).toBeCloseTo(0.3 - (4.3027 * 0.1) / Math.sqrt(3), 3);
  });
});

describe("rliable's aggregate metrics", () => {
  it('probability of improvement is U / (n m), ties one half', () => {
    expect(probabilityOfImprovement([1, 2], [2, 0])).toBeCloseTo(2.5 / 4, 12);
    expect(probabilityOfImprovement([3, 4], [1, 2])).toBe(1);
    expect(probabilityOfImprovement([], [1])).toBeNaN();
  });
  it('IQM cuts a quarter (rounded down) from each end, as scipy.stats.trim_mean(x, 0.25)', () => {
    expect(iqm([1, 2, 3, 4, 5, 6, 7, 8])).toBeCloseTo(4.5, 12);
    expect(iqm([10, 1, 2, 3, 100])).toBeCloseTo((2 + 3 + 10) / 3, 12); // 5 values: cut 1 each end
  });
  it('the stratified bootstrap resamples runs within each task, not across them', () => {
    const tasks = [
      [0, 0, 0],
      [10, 10, 10],
    ];
    // Within-task resampling keeps three runs of each task: the mean is always 5. Across tasks it would vary.
    const b = stratifiedBootstrap(tasks, (xs) => xs.reduce((a, x) => a + x, 0) / xs.length, { reps: 500 });
    expect(b).toEqual({ estimate: 5, low: 5, high: 5 });
  });
  it('is seeded: the same call gives the same interval, which holds the estimate', () => {
    const tasks = [
      [0.1, 0.3, 0.2, 0.25],
      [0.5, 0.7, 0.4],
    ];
    const a = stratifiedBootstrap(tasks, iqm, { reps: 2000, seed: 3 });
    expect(stratifiedBootstrap(tasks, iqm, { reps: 2000, seed: 3 })).toEqual(a);
    expect(a.low).toBeLessThanOrEqual(a.estimate);
    expect(a.high).toBeGreaterThanOrEqual(a.estimate);
    expect(a.high).toBeGreaterThan(a.low);
  });
});
