/**
 * Summaries of a run's rows: the latest row per trial and point (a resumed trial may repeat a point),
 * summary.csv (csv-stringify; one row per trial's final point, stable columns), and the table printed at
 * the end of a run (seeds aggregated as mean ± standard deviation; the gain over the floor paired by seed).
 */
import { stringify } from 'csv-stringify/sync';
import { mean, sd } from '../stats.js';
import type { ResultRow } from './rows.js';

/** The last row written for each (trial, point), in first-seen order. */
export function latestRows(rows: ResultRow[]): ResultRow[] {
  const byKey = new Map<string, ResultRow>();
  for (const r of rows) {
    const key = `${r.trial_id}/${r.point}`;
    byKey.delete(key);
    byKey.set(key, r);
  }
  return [...byKey.values()];
}

export function finalRows(rows: ResultRow[]): ResultRow[] {
  return latestRows(rows).filter((r) => r.final);
}

const BASE_COLUMNS = [
  'trial_id',
  'label',
  'method',
  'dataset',
  'backbone',
  'budget_kind',
  'budget_amount',
  'seed',
  'status',
  'batch_images',
  'crops_per_step',
  'train_seconds',
  'train_flops',
  'crops',
  'images',
  'steps',
  'epochs',
  'input_wait_seconds',
  'loss',
  'eval_seconds',
] as const;
const MEMORY_COLUMNS = ['tensor_peak_bytes', 'step_peak_bytes', 'rss_peak_bytes', 'gpu_peak_bytes', 'webgpu_allocated_peak_bytes'] as const;

/** Flat records of the final rows with a fixed column order: base, metrics (sorted), memory, test-time cost. */
export function summaryRecords(rows: ResultRow[]): { columns: string[]; records: Record<string, string | number | null>[] } {
  const finals = finalRows(rows);
  const metricKeys = [...new Set(finals.flatMap((r) => Object.keys(r.metrics)))].sort();
  const protocols = [...new Set(finals.flatMap((r) => (r.test_cost ?? []).map((t) => t.protocol)))];
  const costColumns = protocols.flatMap((p) => [`test_${p}_flops_per_image`, `test_${p}_latency_ms_batch1`, `test_${p}_images_per_second`]);
  const columns = [...BASE_COLUMNS, ...metricKeys, ...MEMORY_COLUMNS, ...costColumns, 'error'];
  const records = finals.map((r) => {
    const rec: Record<string, string | number | null> = {};
    for (const c of BASE_COLUMNS) rec[c] = r[c] as string | number | null;
    for (const k of metricKeys) rec[k] = r.metrics[k] ?? null;
    for (const c of MEMORY_COLUMNS) rec[c] = r.memory[c] ?? null;
    for (const t of r.test_cost ?? []) {
      rec[`test_${t.protocol}_flops_per_image`] = t.flops_per_image;
      rec[`test_${t.protocol}_latency_ms_batch1`] = t.latency_ms_batch1;
      rec[`test_${t.protocol}_images_per_second`] = t.images_per_second;
    }
    rec.error = r.error ?? null;
    return rec;
  });
  return { columns, records };
}

export function summaryCsv(rows: ResultRow[]): string {
  const { columns, records } = summaryRecords(rows);
  return stringify(records, { header: true, columns, cast: { number: (n) => String(n) } });
}

function pm(xs: number[], scale = 1, digits = 1): string {
  if (xs.length === 0) return '-';
  const m = (mean(xs) * scale).toFixed(digits);
  return xs.length > 1 ? `${m} ± ${(sd(xs) * scale).toFixed(digits)}` : m;
}

/** Items grouped by a key, groups in first-seen order. */
export function groupBy<T>(items: T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.values()];
}

/** A row's role in the comparison (rows written before roles existed are SSL methods). */
export const roleOf = (r: Pick<ResultRow, 'role'>) => r.role ?? 'ssl';

/**
 * Mean final linear accuracy of the floor (random-init) or the ceiling (supervised) on a dataset and
 * backbone, over its seeds and budgets; null when the run has no such row. The floor never trains, so its
 * budget does not matter; the ceiling's figure is the mean over the budgets run.
 */
export function referenceAccuracy(rows: ResultRow[], role: 'floor' | 'ceiling', dataset: string, backbone?: string): number | null {
  const xs = finalRows(rows)
    .filter((r) => roleOf(r) === role && r.status === 'ok' && r.dataset === dataset && (backbone === undefined || r.backbone === backbone))
    .map((r) => r.metrics.linear)
    .filter((v): v is number => v !== undefined);
  return xs.length ? mean(xs) : null;
}

export const budgetName = (r: Pick<ResultRow, 'budget_kind' | 'budget_amount'>) => `${r.budget_kind} ${r.budget_amount.toPrecision(3)}`;

/** The final rows of one setting x dataset x backbone x budget: its seeds. */
export interface SummaryGroup {
  label: string;
  dataset: string;
  backbone: string;
  budget: string;
  seeds: number;
  /** Rows of the seeds that finished. */
  ok: ResultRow[];
  /** Statuses of the seeds that did not (diverged, oom, ...). */
  failures: string[];
}

/** Final rows grouped by setting x dataset x backbone x budget (what every summary table aggregates). */
export function summaryGroups(rows: ResultRow[]): SummaryGroup[] {
  return groupBy(finalRows(rows), (r) => [r.label, r.dataset, r.backbone, budgetName(r)].join('\u0000')).map((g) => ({
    label: g[0].label,
    dataset: g[0].dataset,
    backbone: g[0].backbone,
    budget: budgetName(g[0]),
    seeds: g.length,
    ok: g.filter((r) => r.status === 'ok'),
    failures: g.filter((r) => r.status !== 'ok').map((r) => r.status),
  }));
}

/** One line per setting x dataset x budget, seeds aggregated; failed trials counted apart. */
export function summaryTable(rows: ResultRow[]): string {
  const header = [
    'method',
    'dataset',
    'budget',
    'seeds',
    'linear %',
    'gain',
    'kNN-20 %',
    'train s',
    'crops/s',
    'input wait %',
    'TFLOP',
    'crops',
    'epochs',
    'step peak MB',
    'failed',
  ];
  const lines: string[][] = [header];
  for (const g of summaryGroups(rows)) {
    const metric = (k: string) => g.ok.map((r) => r.metrics[k]).filter((v) => v !== undefined);
    const peaks = g.ok.map((r) => r.memory.step_peak_bytes).filter((v): v is number => v !== null);
    // Gain: linear points over the untrained floor of the same seed (same initial weights), dataset and backbone.
    const role = g.ok[0] ? roleOf(g.ok[0]) : 'ssl';
    const floor = new Map(
      finalRows(rows)
        .filter((r) => roleOf(r) === 'floor' && r.status === 'ok' && r.dataset === g.dataset && r.backbone === g.backbone)
        .filter((r) => r.metrics.linear !== undefined)
        .map((r) => [r.seed, r.metrics.linear]),
    );
    const gain =
      role === 'floor'
        ? []
        : g.ok.filter((r) => r.metrics.linear !== undefined && floor.has(r.seed)).map((r) => r.metrics.linear - floor.get(r.seed)!);
    const trained = g.ok.filter((r) => r.train_seconds > 0);
    const waited = trained.filter((r) => r.input_wait_seconds !== undefined);
    lines.push([
      role === 'ssl' ? g.label : `${g.label} (${role})`,
      g.dataset,
      g.budget,
      String(g.seeds),
      pm(metric('linear'), 100),
      gain.length ? `${gain.reduce((a, b) => a + b, 0) >= 0 ? '+' : ''}${pm(gain, 100)}` : '-',
      pm(metric('knn20'), 100),
      pm(
        g.ok.map((r) => r.train_seconds),
        1,
        1,
      ),
      trained.length
        ? pm(
            trained.map((r) => r.crops / r.train_seconds),
            1,
            0,
          )
        : '-',
      waited.length
        ? pm(
            waited.map((r) => r.input_wait_seconds! / r.train_seconds),
            100,
            1,
          )
        : '-',
      pm(
        g.ok.map((r) => r.train_flops),
        1e-12,
        2,
      ),
      pm(
        g.ok.map((r) => r.crops),
        1,
        0,
      ),
      pm(
        g.ok.map((r) => r.epochs),
        1,
        2,
      ),
      peaks.length ? pm(peaks, 1 / 2 ** 20, 0) : '-',
      g.failures.join(','),
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines
    .map(
      (l, li) =>
        l.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ') +
        (li === 0 ? `\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : ''),
    )
    .join('\n');
}

/** Seconds on the training clock (final rows) and evaluating (every row), summed over the run's trials. */
export function runSeconds(rows: ResultRow[]): { train: number; evaluation: number } {
  const latest = latestRows(rows);
  return {
    train: finalRows(latest).reduce((s, r) => s + r.train_seconds, 0),
    evaluation: latest.reduce((s, r) => s + r.eval_seconds, 0),
  };
}

/** "training 350 s, evaluation 120 s (34 % of training)" */
export function runSecondsLine(rows: ResultRow[]): string {
  const { train, evaluation } = runSeconds(rows);
  const share = train > 0 ? ` (${Math.round((100 * evaluation) / train)} % of training)` : '';
  return `training ${train.toFixed(0)} s, evaluation ${evaluation.toFixed(0)} s${share}, summed over trials`;
}
