import { describe, expect, it } from 'vitest';
import { resultRow as row } from './helpers.js';
import { costToTarget, paretoFrontier, resolveTargets, timeToTarget } from '../reports/analysis.js';
import { summaryTable } from '../src/results/summary.js';

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

  it('takes the median over seeds with a miss counted as never, and counts the seeds that reached it', () => {
    const trial = (seed: number, accs: number[]) =>
      accs.map((a, i) =>
        row({ trial_id: `s${seed}`, seed, point: i, train_seconds: 10 * (i + 1), metrics: { linear: a }, final: i === accs.length - 1 }),
      );
    const rows = [...trial(0, [0.2, 0.6]), ...trial(1, [0.6, 0.7]), ...trial(2, [0.1, 0.2])];
    const [t] = timeToTarget(rows, { synthetic: [0.5] });
    expect(t.reached).toBe(2);
    expect(t.seeds).toBe(3);
    // seed 0: 10 + (0.5-0.2)/(0.6-0.2)*10 = 17.5; seed 1: 10; seed 2: never. Median of {10, 17.5, never} = 17.5.
    expect(t.costs).toEqual([17.5, 10, null]);
    expect(t.median).toBeCloseTo(17.5, 12);
    expect(t.low).toBe(10);
    expect(t.high).toBeNull(); // a seed never reached it: the range is open
    // With the untrained network of each seed (the floor's trial) at zero cost, a target below the first point is
    // interpolated from zero: seed 1 from (0, 0.4) to (10, 0.6) reaches 0.5 at 5.
    const floors = [0, 1, 2].map((seed) =>
      row({ trial_id: `f${seed}`, seed, role: 'floor', label: 'random-init', final: true, train_seconds: 0, metrics: { linear: 0.4 } }),
    );
    expect(timeToTarget([...rows, ...floors], { synthetic: [0.5] })[0].costs).toEqual([17.5, 5, null]);
    // Two misses of three: the median is never.
    const [u] = timeToTarget(rows, { synthetic: [0.65] });
    expect(u.reached).toBe(1);
    expect(u.median).toBeNull();
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

describe('reference rows: the floor and the ceiling', () => {
  const ref = (label: string, role: 'floor' | 'ceiling', linear: number, seed = 0) =>
    row({
      trial_id: `${label}${seed}`,
      label,
      method: label,
      role,
      seed,
      final: true,
      train_seconds: role === 'floor' ? 0 : 30,
      metrics: { linear },
    });
  const ssl = (seed: number, accs: number[]) =>
    accs.map((a, i) =>
      row({ trial_id: `ssl${seed}`, seed, point: i, train_seconds: 10 * (i + 1), metrics: { linear: a }, final: i === accs.length - 1 }),
    );

  it('targets at fractions of the gap between floor and ceiling, beside the absolute ones', () => {
    const rows = [
      ref('random-init', 'floor', 0.4),
      ref('random-init', 'floor', 0.5, 1),
      ref('supervised', 'ceiling', 0.95),
      ...ssl(0, [0.5, 0.7]),
    ];
    const t = resolveTargets(rows, { synthetic: [0.3] }, [0.25, 0.5]);
    // floor 0.45 (mean of two seeds), ceiling 0.95: 0.45 + 0.25 * 0.5 and 0.45 + 0.5 * 0.5
    expect(t.synthetic).toHaveLength(3);
    expect(t.synthetic[0]).toBe(0.3);
    expect(t.synthetic[1]).toBeCloseTo(0.575, 12);
    expect(t.synthetic[2]).toBeCloseTo(0.7, 12);
    // Without a ceiling the gap is unknown: only the absolute targets.
    expect(
      resolveTargets(
        rows.filter((r) => r.role !== 'ceiling'),
        {},
        [0.5],
      ),
    ).toEqual({});
  });

  it('the floor is never ranked: no time to target, not on the Pareto frontier', () => {
    const rows = [ref('random-init', 'floor', 0.6), ...ssl(0, [0.5, 0.7])];
    expect(timeToTarget(rows, { synthetic: [0.55] }).map((t) => t.label)).toEqual(['simclr']);
    expect(paretoFrontier(rows).map((p) => p.label)).toEqual(['simclr (steps 10.0)']);
  });

  it("the summary table reports each method's gain over the floor and marks the references", () => {
    const rows = [ref('random-init', 'floor', 0.4), ref('supervised', 'ceiling', 0.95), ...ssl(0, [0.5, 0.7])];
    const table = summaryTable(rows);
    expect(table).toMatch(/random-init \(floor\)\s+synthetic\s+\S+ \S+\s+1\s+40\.0\s+-/);
    expect(table).toMatch(/simclr\s+synthetic\s+\S+ \S+\s+1\s+70\.0\s+\+30\.0/);
    expect(table).toMatch(/supervised \(ceiling\)\s+synthetic\s+\S+ \S+\s+1\s+95\.0\s+\+55\.0/);
  });
});
