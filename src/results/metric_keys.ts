/**
 * The names of a result row's metrics (`ResultRow.metrics`): src/eval/evaluate.ts makes them with `metricKey`,
 * reports read them back with `parseMetricKey`, so each name is spelled in this file only.
 *
 *   linear, linear_val, linear_wd      single view: probe top-1 on test and validation; its chosen weight decay
 *   knn<k>                             single view: weighted kNN top-1 on test (k neighbours)
 *   bag<P>_linear_mean, _std, _wd      bag of P patches: probe top-1 over the test draws (mean, sd); weight decay
 *   bag<P>_knn<k>_mean, _std           (only when the bag chose its own; bags normally reuse the single view's)
 *   matched_linear_mean, _knn<k>_mean  the centre view probed on the bags' own images (one draw: no _std)
 *   authors_linear_mean, _std, _wd     the method's authors' own protocol, where the suite names one
 *   authors_knn<k>_mean, _std
 *   transfer.<dataset>.<any of these>  the same, measured on a transfer dataset
 *
 * A protocol's name, as in test_cost rows, the report's --protocol and figure names: `single`, `bag<P>`, `matched`,
 * `authors`.
 */

/**
 * An evaluation protocol: the centre view, the mean feature of `patches` patches, the centre view probed on the
 * bags' images (`matched`: the bags' training and test images, so the two compare probe for probe), or the
 * method's authors' own.
 */
export type Protocol = { protocol: 'single' } | { protocol: 'bag'; patches: number } | { protocol: 'matched' } | { protocol: 'authors' };

/** Which accuracy: the linear probe, or weighted kNN with `k` neighbours. */
export type Probe = { probe: 'linear' } | { probe: 'knn'; k: number };

/** On the trial's own dataset (absent), or on the named transfer dataset. */
interface Where {
  transfer?: string;
}

/** Repeated protocols (bags, authors): over the test draws, mean and sd; the probe's weight decay where it chose one. */
type RepeatedStat = { probe: 'linear'; stat: 'mean' | 'std' | 'wd' } | { probe: 'knn'; k: number; stat: 'mean' | 'std' };

export type SingleMetric = Where &
  ({ protocol: 'single'; probe: 'linear'; stat: 'test' | 'val' | 'wd' } | { protocol: 'single'; probe: 'knn'; k: number });
export type BagMetric = Where & { protocol: 'bag'; patches: number } & RepeatedStat;
export type AuthorsMetric = Where & { protocol: 'authors' | 'matched' } & RepeatedStat;

/** Everything a metric's name says. */
export type MetricParts = SingleMetric | BagMetric | AuthorsMetric;

const TRANSFER = 'transfer';

function count(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`metric key: ${what} must be a positive integer, got ${n}`);
  return n;
}

/** "single", "bag16", "authors". */
export function protocolName(p: Protocol): string {
  if (p.protocol === 'bag') return `bag${count(p.patches, 'patches')}`;
  return p.protocol;
}

/** The protocol a name gives (protocolName's inverse), or null for a name that is none. */
export function parseProtocol(name: string): Protocol | null {
  if (name === 'single' || name === 'authors' || name === 'matched') return { protocol: name };
  const m = /^bag([1-9]\d*)$/.exec(name);
  return m ? { protocol: 'bag', patches: Number(m[1]) } : null;
}

/** The name of the metric `parts` describes. */
export function metricKey(parts: MetricParts): string {
  const probe = parts.probe === 'linear' ? 'linear' : `knn${count(parts.k, 'k')}`;
  let key: string;
  if (parts.protocol === 'single') key = parts.probe === 'knn' || parts.stat === 'test' ? probe : `${probe}_${parts.stat}`;
  else key = `${protocolName(parts)}_${probe}_${parts.stat}`;
  if (parts.transfer === undefined) return key;
  if (parts.transfer === '' || /\s/.test(parts.transfer))
    throw new Error(`metric key: a transfer dataset's name must be non-empty, without spaces; got ${JSON.stringify(parts.transfer)}`);
  return `${TRANSFER}.${parts.transfer}.${key}`;
}

/** The protocol's test accuracy by `probe`: the single view's, or the mean over a repeated protocol's test draws. */
export function accuracyKey(protocol: Protocol, probe: Probe, transfer?: string): string {
  const where = transfer === undefined ? {} : { transfer };
  if (protocol.protocol === 'single')
    return metricKey(
      probe.probe === 'linear'
        ? { ...where, protocol: 'single', probe: 'linear', stat: 'test' }
        : { ...where, protocol: 'single', ...probe },
    );
  return metricKey({ ...where, ...protocol, ...probe, stat: 'mean' });
}

const SINGLE = /^(?:linear(?:_(val|wd))?|knn([1-9]\d*))$/;
const REPEATED = /^(bag[1-9]\d*|authors|matched)_(?:(linear)|knn([1-9]\d*))_(mean|std|wd)$/;

/** What the metric named `key` is (metricKey's inverse), or null for a name metricKey does not make. */
export function parseMetricKey(key: string): MetricParts | null {
  let inner = key;
  let where: Where = {};
  if (key.startsWith(`${TRANSFER}.`)) {
    const dot = key.lastIndexOf('.');
    const dataset = key.slice(TRANSFER.length + 1, dot);
    if (dot <= TRANSFER.length || dataset === '' || /\s/.test(dataset)) return null;
    inner = key.slice(dot + 1);
    where = { transfer: dataset };
  }
  const s = SINGLE.exec(inner);
  if (s) {
    if (s[2] !== undefined) return { ...where, protocol: 'single', probe: 'knn', k: Number(s[2]) };
    return { ...where, protocol: 'single', probe: 'linear', stat: (s[1] as 'val' | 'wd' | undefined) ?? 'test' };
  }
  const r = REPEATED.exec(inner);
  if (!r) return null;
  const protocol = parseProtocol(r[1])! as Exclude<Protocol, { protocol: 'single' }>;
  const stat = r[4] as 'mean' | 'std' | 'wd';
  if (r[2] !== undefined) return { ...where, ...protocol, probe: 'linear', stat };
  // kNN has no regulariser to choose.
  if (stat === 'wd') return null;
  return { ...where, ...protocol, probe: 'knn', k: Number(r[3]), stat };
}
