/**
 * Evaluation protocols: `single` (the linear probe and kNN on one centre view of each image) and `bagK`
 * (the same on the mean feature of K patches, one patch recipe for every method), and `authors` where a suite
 * names a method's own protocol (EMP-SSL: the mean pre-feature of 128 of its training patches; only the rows of
 * the methods it names have it). A report is drawn for one
 * protocol by reading the rows as that protocol sees them: its accuracies stand in the `linear` and `knn20`
 * fields every figure and table reads, so no figure needs to know which protocol it draws.
 */
import type { ResultRow } from '../src/results/rows.js';

export const SINGLE = 'single';
export const AUTHORS = 'authors';

/** The protocols rows have results for: `single`, then each bag size found, smallest first, then `authors`. */
export function protocolsOf(rows: ResultRow[]): string[] {
  const bags = new Set<number>();
  let authors = false;
  for (const r of rows)
    for (const k of Object.keys(r.metrics)) {
      const m = /^bag(\d+)_linear_mean$/.exec(k);
      if (m) bags.add(Number(m[1]));
      if (k === `${AUTHORS}_linear_mean`) authors = true;
    }
  return [SINGLE, ...[...bags].sort((a, b) => a - b).map((k) => `bag${k}`), ...(authors ? [AUTHORS] : [])];
}

/** Rows with `protocol`'s accuracies as `linear` and `knn20`; rows (points) without that protocol keep neither. */
export function underProtocol(rows: ResultRow[], protocol: string): ResultRow[] {
  if (protocol === SINGLE) return rows;
  return rows.map((r) => {
    const { linear: _linear, knn20: _knn20, ...rest } = r.metrics;
    const metrics: Record<string, number> = { ...rest };
    const linear = r.metrics[`${protocol}_linear_mean`];
    const knn = r.metrics[`${protocol}_knn20_mean`];
    if (linear !== undefined) metrics.linear = linear;
    if (knn !== undefined) metrics.knn20 = knn;
    return { ...r, metrics };
  });
}

/** Test-time FLOPs per image of `protocol` (mean over the rows that measured it), or null. */
export function testFlopsPerImage(rows: ResultRow[], protocol: string): number | null {
  const xs = rows.flatMap((r) => (r.test_cost ?? []).filter((t) => t.protocol === protocol).map((t) => t.flops_per_image));
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

/** "bag16: mean of 16 patches, 508 MFLOP per test image" */
export function describeProtocol(rows: ResultRow[], protocol: string): string {
  const flops = testFlopsPerImage(rows, protocol);
  const patches = rows.flatMap((r) => r.test_cost ?? []).find((t) => t.protocol === protocol)?.patches;
  const what =
    protocol === SINGLE
      ? 'one centre view'
      : protocol === AUTHORS
        ? `the methods' own protocols where the suite names them${patches ? ` (mean of ${patches} of their own patches)` : ''}`
        : `mean of ${protocol.slice(3)} patches`;
  return `${protocol}: ${what}${flops === null ? '' : `, ${(flops / 1e6).toFixed(0)} MFLOP per test image`}`;
}
