import { describe, expect, it } from 'vitest';
import { resultRow as row } from './helpers.js';
import { costToTarget, paretoFrontier, timeToTarget } from '../reports/analysis.js';
import { meanCi95 } from '../src/stats.js';

describe('time to target', () => {
  it('interpolates linearly between the points around the first crossing', () => {
    const pts = [
      { cost: 10, accuracy: 0.2 },
      { cost: 20, accuracy: 0.4 },
      { cost: 30, accuracy: 0.3 },
      { cost: 40, accuracy: 0.8 },
    ];
    expect(costToTarget(pts, 0.3)).toBeCloseTo(15, 12);
    expect(costToTarget(pts, 0.4)).toBe(20);
    expect(costToTarget(pts, 0.6)).toBeCloseTo(36, 12); // from the dip at 30 (0.3) to 40 (0.8)
    expect(costToTarget(pts, 0.9)).toBeNull();
    expect(costToTarget(pts, 0.1)).toBe(10); // reached at the first point
  });

  it('averages over the seeds that reach it, with a t-interval, and counts the others', () => {
    const trial = (seed: number, accs: number[]) =>
      accs.map((a, i) =>
        row({ trial_id: `s${seed}`, seed, point: i, train_seconds: 10 * (i + 1), metrics: { linear: a }, final: i === accs.length - 1 }),
      );
    const rows = [...trial(0, [0.2, 0.6]), ...trial(1, [0.6, 0.7]), ...trial(2, [0.1, 0.2])];
    const [t] = timeToTarget(rows, { synthetic: [0.5] });
    expect(t.reached).toBe(2);
    expect(t.seeds).toBe(3);
    // seed 0: 10 + (0.5-0.2)/(0.6-0.2)*10 = 17.5; seed 1: 10.
    expect(t.mean).toBeCloseTo(13.75, 12);
    const ci = meanCi95([17.5, 10]);
    expect(t.hi! - t.mean!).toBeCloseTo(ci.halfWidth!, 12);
    expect(t.lo).toBe(0); // 13.75 - 12.706 * 3.75 < 0, cut at zero
  });
});

describe('Pareto frontier', () => {
  it('marks the points no other point beats on both cost and accuracy', () => {
    const f = (label: string, flops: number, acc: number) =>
      row({ trial_id: label, label, final: true, train_flops: flops, metrics: { linear: acc } });
    const points = paretoFrontier([
      f('a', 1, 0.5),
      f('b', 2, 0.7),
      f('c', 3, 0.6),
      f('d', 4, 0.9),
      row({ trial_id: 'e', label: 'e', final: true, status: 'diverged' }),
    ]);
    expect(Object.fromEntries(points.map((p) => [p.label.split(' ')[0], p.onFrontier]))).toEqual({ a: true, b: true, c: false, d: true });
  });
});
