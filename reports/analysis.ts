/**
 * Numbers the figures need, computed from result rows only: per-method curves over the budget, time to
 * a target accuracy, and the Pareto frontier of accuracy against cost.
 *
 * Time-to-target rule (stated once, applied to every method, as DAWNBench and airbench do): the first
 * evaluation point whose accuracy reaches the target, linearly interpolated on the cost axis between it
 * and the point before; before the first point, the untrained network of the same seed (the floor's trial,
 * same initial weights) at zero cost, where the run has one (else the first point's own cost); a trial that never reaches it never does (MLPerf: infinitely slow). Across seeds: the median, the
 * misses counted as never, and "k of n reached".
 */
import type { ResultRow } from '../src/results/rows.js';
import { budgetName, finalRows, groupBy, latestRows, referenceAccuracy, roleOf } from '../src/results/summary.js';
import { median } from '../src/stats.js';

export type CostAxis = 'epochs' | 'train_seconds' | 'train_flops' | 'crops';

export const COST_AXES: { field: CostAxis; title: string }[] = [
  { field: 'epochs', title: 'epochs' },
  { field: 'train_seconds', title: 'training wall-clock (s)' },
  { field: 'train_flops', title: 'training FLOPs' },
  { field: 'crops', title: 'crops processed' },
];

/** The accuracy a figure plots: the linear probe, else kNN-20 (a run may have skipped the probe). */
export function accuracyOf(r: ResultRow): number | null {
  return r.metrics.linear ?? r.metrics.knn20 ?? null;
}

export function okRows(rows: ResultRow[]): ResultRow[] {
  return latestRows(rows).filter((r) => r.status === 'ok' && accuracyOf(r) !== null);
}

/** Rows of the methods compared (the floor takes no training, so it has no cost to compare). */
export function trainedRows(rows: ResultRow[]): ResultRow[] {
  return rows.filter((r) => roleOf(r) !== 'floor');
}

/**
 * Target accuracies per dataset: the suite's absolute ones, plus one per fraction of the gap between the
 * floor (random-init) and the ceiling (supervised) where the run has both, floor + g x (ceiling - floor),
 * so that targets sit where methods can be told apart.
 */
export function resolveTargets(rows: ResultRow[], absolute: Record<string, number[]>, gaps: number[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const datasets = new Set([...Object.keys(absolute), ...rows.map((r) => r.dataset)]);
  for (const d of datasets) {
    const floor = referenceAccuracy(rows, 'floor', d);
    const ceiling = referenceAccuracy(rows, 'ceiling', d);
    const fromGap = floor !== null && ceiling !== null && ceiling > floor ? gaps.map((g) => floor + g * (ceiling - floor)) : [];
    const all = [...(absolute[d] ?? []), ...fromGap].sort((a, b) => a - b);
    if (all.length) out[d] = all;
  }
  return out;
}

/** Interpolated cost at which one trial's curve first reaches `target`, or null. */
export function costToTarget(points: { cost: number; accuracy: number }[], target: number): number | null {
  const sorted = [...points].sort((a, b) => a.cost - b.cost);
  let prev: { cost: number; accuracy: number } | null = null;
  for (const p of sorted) {
    if (p.accuracy >= target) {
      if (!prev || p.cost === prev.cost) return p.cost;
      return prev.cost + ((target - prev.accuracy) / (p.accuracy - prev.accuracy)) * (p.cost - prev.cost);
    }
    prev = p;
  }
  return null;
}

export interface TimeToTarget {
  label: string;
  dataset: string;
  budget: string;
  target: number;
  axis: CostAxis;
  /** Median over seeds, a seed that never reached the target counted as never (infinite): null when the median is never. */
  median: number | null;
  /** The cheapest seed's cost, and the dearest's (null when some seed never reached it). */
  low: number | null;
  high: number | null;
  reached: number;
  seeds: number;
  /** Each seed's cost, null for never; with `bySeed` the seed numbers, for pairing across methods. */
  costs: (number | null)[];
  bySeed: number[];
}

/** The cost axes time to target is read on: wall-clock, FLOPs and crops (epochs are not a cost). */
export const TARGET_AXES: CostAxis[] = ['train_seconds', 'train_flops', 'crops'];

/**
 * Time to target the MLPerf way: per seed, the interpolated cost of the first point reaching the target; over
 * seeds, the median with a miss counted as never, and how many of the seeds reached it.
 */
export function timeToTarget(rows: ResultRow[], targets: Record<string, number[]>, axis: CostAxis = 'train_seconds'): TimeToTarget[] {
  const trials = groupBy(okRows(trainedRows(rows)), (r) => r.trial_id);
  // Every trial starts, at zero cost, as the untrained network of its seed: the floor's trial of that seed.
  const floors = new Map(
    finalRows(rows)
      .filter((r) => roleOf(r) === 'floor' && r.status === 'ok' && accuracyOf(r) !== null)
      .map((r) => [`${r.dataset}\u0000${r.seed}`, accuracyOf(r)!]),
  );
  const out: TimeToTarget[] = [];
  for (const group of groupBy(trials, (t) => [t[0].label, t[0].dataset, budgetName(t[0])].join('\u0000'))) {
    const g = group[0][0];
    const bySeed = [...group].sort((a, b) => a[0].seed - b[0].seed);
    for (const target of targets[g.dataset] ?? []) {
      const costs = bySeed.map((t) => {
        const start = floors.get(`${g.dataset}\u0000${t[0].seed}`);
        return costToTarget(
          [...(start === undefined ? [] : [{ cost: 0, accuracy: start }]), ...t.map((r) => ({ cost: r[axis], accuracy: accuracyOf(r)! }))],
          target,
        );
      });
      const reached = costs.filter((c): c is number => c !== null);
      const m = median(costs.map((c) => c ?? Number.POSITIVE_INFINITY));
      out.push({
        label: g.label,
        dataset: g.dataset,
        budget: budgetName(g),
        target,
        axis,
        median: Number.isFinite(m) ? m : null,
        low: reached.length ? Math.min(...reached) : null,
        high: reached.length === costs.length ? Math.max(...reached) : null,
        reached: reached.length,
        seeds: costs.length,
        costs,
        bySeed: bySeed.map((t) => t[0].seed),
      });
    }
  }
  return out;
}

export interface FrontierPoint {
  /** The setting's label (what colours it), and "label (budget)". */
  method: string;
  label: string;
  dataset: string;
  cost: number;
  accuracy: number;
  onFrontier: boolean;
}

/** Final points averaged over seeds; a point is on the frontier when no other is both cheaper (or equal) and more accurate. */
export function paretoFrontier(rows: ResultRow[], axis: CostAxis = 'train_flops'): FrontierPoint[] {
  const groups = groupBy(
    finalRows(trainedRows(rows)).filter((x) => x.status === 'ok' && accuracyOf(x) !== null),
    (r) => [r.label, r.dataset, budgetName(r)].join('\u0000'),
  );
  const points = groups.map((g) => ({
    method: g[0].label,
    label: `${g[0].label} (${budgetName(g[0])})`,
    dataset: g[0].dataset,
    cost: g.reduce((s, r) => s + r[axis], 0) / g.length,
    accuracy: g.reduce((s, r) => s + accuracyOf(r)!, 0) / g.length,
    onFrontier: false,
  }));
  for (const p of points) {
    p.onFrontier = !points.some(
      (q) =>
        q !== p && q.dataset === p.dataset && q.cost <= p.cost && q.accuracy >= p.accuracy && (q.cost < p.cost || q.accuracy > p.accuracy),
    );
  }
  return points;
}
