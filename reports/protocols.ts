/**
 * Evaluation protocols: `single` (the linear probe and kNN on one centre view of each image) and `bagK`
 * (the same on the mean feature of K patches, one patch recipe for every method), and `authors` where a suite
 * names a method's own protocol (e.g. the mean pre-feature of many of its own training patches; only the rows of
 * the methods it names have it). A report is drawn for one
 * protocol by reading the rows as that protocol sees them: its accuracies stand in the `linear` and `knn20`
 * fields every figure and table reads, so no figure needs to know which protocol it draws. Metric names are
 * made and read by src/results/metric_keys.ts.
 */
import { accuracyKey, parseMetricKey, parseProtocol, type Probe, type Protocol, protocolName } from '../src/results/metric_keys.js';
import type { ResultRow } from '../src/results/rows.js';

export const SINGLE = protocolName({ protocol: 'single' });
export const AUTHORS = protocolName({ protocol: 'authors' });

/** The probes whose accuracies figures read (as `linear` and `knn20`). */
export const LINEAR: Probe = { probe: 'linear' };
export const KNN20: Probe = { probe: 'knn', k: 20 };
const SINGLE_LINEAR = accuracyKey({ protocol: 'single' }, LINEAR);
const SINGLE_KNN20 = accuracyKey({ protocol: 'single' }, KNN20);

/** The protocols rows have results for: `single`, then each bag size found, smallest first, then `authors`. */
export function protocolsOf(rows: ResultRow[]): string[] {
  const bags = new Set<number>();
  let authors = false;
  for (const r of rows)
    for (const k of Object.keys(r.metrics)) {
      const m = parseMetricKey(k);
      // A protocol counts where the trial's own dataset has its probe accuracy.
      if (!m || m.transfer !== undefined || m.probe !== 'linear' || m.stat !== 'mean') continue;
      if (m.protocol === 'bag') bags.add(m.patches);
      else if (m.protocol === 'authors') authors = true;
    }
  return [
    SINGLE,
    ...[...bags].sort((a, b) => a - b).map((patches) => protocolName({ protocol: 'bag', patches })),
    ...(authors ? [AUTHORS] : []),
  ];
}

/** The protocol `name` gives; an Error for a name that is none (report.ts checks names against protocolsOf first). */
export function protocolOf(name: string): Protocol {
  const p = parseProtocol(name);
  if (!p) throw new Error(`"${name}" is not an evaluation protocol (single, bagK, authors)`);
  return p;
}

/** Rows with `protocol`'s accuracies as `linear` and `knn20`; rows (points) without that protocol keep neither. */
export function underProtocol(rows: ResultRow[], protocol: string): ResultRow[] {
  if (protocol === SINGLE) return rows;
  const p = protocolOf(protocol);
  const linearKey = accuracyKey(p, LINEAR);
  const knnKey = accuracyKey(p, KNN20);
  return rows.map((r) => {
    const metrics: Record<string, number> = { ...r.metrics };
    delete metrics[SINGLE_LINEAR];
    delete metrics[SINGLE_KNN20];
    const linear = r.metrics[linearKey];
    const knn = r.metrics[knnKey];
    if (linear !== undefined) metrics[SINGLE_LINEAR] = linear;
    if (knn !== undefined) metrics[SINGLE_KNN20] = knn;
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
  const p = protocolOf(protocol);
  const what =
    p.protocol === 'single'
      ? 'one centre view'
      : p.protocol === 'authors'
        ? `the methods' own protocols where the suite names them${patches ? ` (mean of ${patches} of their own patches)` : ''}`
        : p.protocol === 'matched'
          ? "one centre view, probed on the bags' images"
          : `mean of ${p.patches} patches`;
  return `${protocol}: ${what}${flops === null ? '' : `, ${(flops / 1e6).toFixed(0)} MFLOP per test image`}`;
}
