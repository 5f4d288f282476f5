/**
 * The report's figures as Vega-Lite specs built from result rows, one per reviewer critique. Each spec
 * carries its data inline, so the saved .vl.json renders (and restyles) on its own.
 */
import type { ResultRow } from '../src/results/rows.js';
import { budgetName, finalRows, roleOf, summaryGroups } from '../src/results/summary.js';
import { mean, sd } from '../src/stats.js';
import { accuracyOf, COST_AXES, okRows, paretoFrontier, timeToTarget } from './analysis.js';
import { AUTHORS } from './protocols.js';

export const FONT = 'DejaVu Sans';

export interface Figure {
  /** File stem: accuracy-vs-cost, time-to-target, ... */
  name: string;
  title: string;
  /** The critique it answers. */
  critique: string;
  spec: Record<string, unknown>;
}

const CONFIG = {
  font: FONT,
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 360, titleLimit: 360 },
  title: { fontSize: 14 },
};
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

function spec(title: string, body: Record<string, unknown>): Record<string, unknown> {
  return { $schema: SCHEMA, title, config: CONFIG, ...body };
}

const pct = { format: '.1%' };

/**
 * Accuracy against epochs, wall-clock, FLOPs and crops: one line per method (mean over seeds), a band of
 * ± 1 sd; the supervised ceiling dashed, the untrained floor a dashed horizontal rule.
 */
const xOf = (field: string, title: string) => ({
  field: `x_${field}`,
  type: 'quantitative',
  title,
  axis: field === 'train_flops' || field === 'crops' ? { format: '~s' } : {},
});

function accuracyVsCost(rows: ResultRow[], keep?: (row: ResultRow) => boolean): Record<string, unknown> {
  const values = okRows(rows)
    .filter((r) => !keep || keep(r))
    .map((r) => ({
      method: r.label,
      dataset: r.dataset,
      budget: budgetName(r),
      seed: r.seed,
      point: r.point,
      role: roleOf(r),
      accuracy: accuracyOf(r),
      ...Object.fromEntries(COST_AXES.map((a) => [a.field, r[a.field]])),
    }));
  const trained = { filter: "datum.role != 'floor'" };
  // Seeds are averaged per evaluation point first; the band is mean ± 1 sd of accuracy over seeds.
  const panel = (field: string, title: string) => ({
    width: 230,
    height: 190,
    transform: [
      // Output names differ per panel: vega-lite merges equal-looking aggregates across concatenated views.
      {
        aggregate: [
          { op: 'mean', field, as: `x_${field}` },
          { op: 'mean', field: 'accuracy', as: 'acc' },
          { op: 'stdev', field: 'accuracy', as: 'sd' },
        ],
        groupby: ['method', 'role', 'budget', 'point'],
      },
      { calculate: 'isValid(datum.sd) && isFinite(datum.sd) ? datum.sd : 0', as: 'sd' },
      { calculate: 'datum.acc - datum.sd', as: 'lo' },
      { calculate: 'datum.acc + datum.sd', as: 'hi' },
    ],
    encoding: { color: { field: 'method', type: 'nominal', title: 'method' }, detail: { field: 'budget' } },
    layer: [
      {
        transform: [trained],
        mark: { type: 'area', opacity: 0.2 },
        encoding: { x: xOf(field, title), y: { field: 'lo', type: 'quantitative', title: 'accuracy (linear probe)' }, y2: { field: 'hi' } },
      },
      {
        transform: [trained],
        mark: { type: 'line', point: true },
        encoding: {
          x: xOf(field, title),
          y: { field: 'acc', type: 'quantitative', title: 'accuracy (linear probe)', axis: pct },
          strokeDash: {
            field: 'role',
            type: 'nominal',
            title: 'role',
            scale: {
              domain: ['ssl', 'ceiling'],
              range: [
                [1, 0],
                [6, 3],
              ],
            },
          },
        },
      },
      {
        // The floor takes no training: its accuracy holds at every cost.
        transform: [{ filter: "datum.role == 'floor'" }],
        mark: { type: 'rule', strokeDash: [2, 3], size: 1.5 },
        encoding: { y: { field: 'acc', type: 'quantitative' } },
      },
    ],
  });
  return {
    data: { values },
    facet: { row: { field: 'dataset', type: 'nominal', title: 'dataset' } },
    spec: { hconcat: COST_AXES.map((a) => panel(a.field, a.title)) },
    resolve: { scale: { x: 'independent' } },
  };
}

function timeToTargetFigure(rows: ResultRow[], targets: Record<string, number[]>): Record<string, unknown> {
  const values = timeToTarget(rows, targets).map((t) => ({
    ...t,
    target: `${(100 * t.target).toFixed(0)}%`,
    status: t.mean === null ? 'not reached' : `${t.reached}/${t.seeds} seeds`,
  }));
  const reached = { filter: 'datum.mean != null' };
  return {
    data: { values },
    facet: { row: { field: 'dataset', type: 'nominal' }, column: { field: 'target', type: 'nominal', title: 'target accuracy' } },
    spec: {
      width: 260,
      height: { step: 22 },
      layer: [
        {
          transform: [reached],
          mark: 'bar',
          encoding: {
            y: { field: 'label', type: 'nominal', title: 'method' },
            x: { field: 'mean', type: 'quantitative', title: 'training seconds to reach the target (mean, 95% CI)' },
            color: { field: 'label', type: 'nominal', legend: null },
          },
        },
        {
          transform: [reached],
          mark: { type: 'rule' },
          encoding: { y: { field: 'label', type: 'nominal' }, x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } },
        },
        {
          mark: { type: 'text', align: 'left', dx: 4 },
          encoding: { y: { field: 'label', type: 'nominal' }, x: { value: 2 }, text: { field: 'status' } },
        },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  };
}

const MEMORY_LABELS: Record<string, string> = {
  step_peak_bytes: 'tensors during one step (tf.profile peak)',
  tensor_peak_bytes: 'tensors between steps (tf.memory)',
  rss_peak_bytes: 'process resident set',
  gpu_peak_bytes: 'GPU memory of this process (nvidia-smi)',
  webgpu_allocated_peak_bytes: 'GPU buffers held by the webgpu backend (its own figure)',
};

function memoryFigure(rows: ResultRow[]): Record<string, unknown> {
  const values = finalRows(rows)
    .filter((r) => r.status === 'ok')
    .flatMap((r) =>
      Object.entries(MEMORY_LABELS)
        .filter(([k]) => (r.memory[k as keyof typeof r.memory] ?? null) !== null)
        .map(([k, what]) => ({
          method: r.label,
          dataset: r.dataset,
          seed: r.seed,
          measure: what,
          mib: (r.memory[k as keyof typeof r.memory] as number) / 2 ** 20,
        })),
    );
  return {
    data: { values },
    facet: { row: { field: 'dataset', type: 'nominal' } },
    spec: {
      width: 420,
      height: { step: 14 },
      mark: 'bar',
      encoding: {
        y: { field: 'method', type: 'nominal', title: 'method' },
        yOffset: { field: 'measure' },
        x: { field: 'mib', aggregate: 'max', type: 'quantitative', title: 'peak memory (MiB, max over seeds)' },
        color: { field: 'measure', type: 'nominal', title: 'what was measured' },
      },
    },
  };
}

/** Accuracy of each protocol against its test-time FLOPs per image (protocols with an accuracy). */
function testCostFigure(rows: ResultRow[]): Record<string, unknown> {
  const values = finalRows(rows)
    .filter((r) => r.status === 'ok' && r.test_cost)
    .flatMap((r) =>
      r.test_cost!.map((t) => {
        const accuracy = t.protocol === 'single' ? r.metrics.linear : r.metrics[`${t.protocol}_linear_mean`];
        return {
          method: r.label,
          dataset: r.dataset,
          protocol:
            t.protocol === 'single'
              ? 'single view'
              : t.protocol === AUTHORS
                ? `authors' own, ${t.patches} patches`
                : `${t.patches} patches`,
          flops: t.flops_per_image,
          latency_ms: t.latency_ms_batch1,
          images_per_second: t.images_per_second,
          accuracy: accuracy ?? null,
        };
      }),
    )
    .filter((v) => v.accuracy !== null);
  return {
    data: { values },
    facet: { row: { field: 'dataset', type: 'nominal' } },
    spec: {
      width: 460,
      height: 260,
      mark: { type: 'point', filled: true, size: 80 },
      encoding: {
        x: {
          field: 'flops',
          aggregate: 'mean',
          type: 'quantitative',
          scale: { type: 'log' },
          title: 'test-time FLOPs per image (log scale)',
        },
        y: { field: 'accuracy', aggregate: 'mean', type: 'quantitative', title: 'accuracy (linear probe)', axis: pct },
        color: { field: 'method', type: 'nominal' },
        shape: { field: 'protocol', type: 'nominal', title: 'evaluation protocol' },
        tooltip: [
          { field: 'method' },
          { field: 'protocol' },
          { field: 'latency_ms', aggregate: 'mean', title: 'latency, batch 1 (ms)', format: '.1f' },
          { field: 'images_per_second', aggregate: 'mean', title: 'images/s, large batch', format: '.0f' },
        ],
      },
    },
  };
}

function varianceFigure(rows: ResultRow[]): Record<string, unknown> {
  const values = finalRows(rows)
    .filter((r) => r.status === 'ok')
    .flatMap((r) =>
      Object.keys(r.metrics)
        .filter((k) => /^bag\d+_linear_mean$/.test(k))
        .map((k) => {
          const patches = Number(/^bag(\d+)/.exec(k)![1]);
          const m = r.metrics[k];
          const s = r.metrics[k.replace('_mean', '_std')] ?? 0;
          return {
            method: r.label,
            dataset: r.dataset,
            seed: r.seed,
            patches: `${patches} patches`,
            mean: m,
            lo: Math.max(0, m - s),
            hi: Math.min(1, m + s),
          };
        }),
    );
  return {
    data: { values },
    facet: { row: { field: 'dataset', type: 'nominal' } },
    spec: {
      width: 420,
      height: { step: 22 },
      layer: [
        {
          mark: { type: 'rule', strokeWidth: 2 },
          encoding: {
            y: { field: 'method', type: 'nominal' },
            yOffset: { field: 'patches' },
            x: {
              field: 'lo',
              type: 'quantitative',
              title: 'bag-of-features accuracy: mean ± sd over random repeats',
              axis: pct,
              scale: { zero: false },
            },
            x2: { field: 'hi' },
            color: { field: 'patches', type: 'nominal', title: 'bag size' },
          },
        },
        {
          mark: { type: 'point', filled: true },
          encoding: {
            y: { field: 'method', type: 'nominal' },
            yOffset: { field: 'patches' },
            x: { field: 'mean', type: 'quantitative' },
            color: { field: 'patches', type: 'nominal' },
            tooltip: [{ field: 'method' }, { field: 'patches' }, { field: 'seed' }, { field: 'mean', format: '.3f' }],
          },
        },
      ],
    },
  };
}

function paretoFigure(rows: ResultRow[]): Record<string, unknown> {
  const values = paretoFrontier(rows);
  return {
    data: { values },
    facet: { row: { field: 'dataset', type: 'nominal' } },
    spec: {
      width: 460,
      height: 280,
      layer: [
        {
          transform: [{ filter: 'datum.onFrontier' }],
          mark: { type: 'line', interpolate: 'step-after', color: '#888', strokeDash: [4, 3] },
          encoding: { x: { field: 'cost', type: 'quantitative', sort: 'ascending' }, y: { field: 'accuracy', type: 'quantitative' } },
        },
        {
          mark: { type: 'point', filled: true, size: 90 },
          encoding: {
            x: {
              field: 'cost',
              type: 'quantitative',
              title: 'training FLOPs (mean over seeds)',
              scale: { zero: false },
              axis: { format: '~s' },
            },
            y: { field: 'accuracy', type: 'quantitative', title: 'final accuracy (linear probe)', axis: pct, scale: { zero: false } },
            color: { field: 'label', type: 'nominal', title: 'method (budget)' },
            shape: { field: 'onFrontier', type: 'nominal', title: 'on the Pareto frontier' },
          },
        },
      ],
    },
  };
}

/** A trial that trains on more than two crops of each image (multi-view, multi-crop, EMP-SSL's patches), and the references. */
const multiCrop = (r: ResultRow) => r.crops_per_step > 2 * r.batch_images || roleOf(r) !== 'ssl';

/**
 * The figures drawn once per bag protocol (`rows` already read under it, targets resolved under it): time to
 * target and accuracy against cost, titled with the protocol's test-time cost per image.
 */
export function protocolFigures(rows: ResultRow[], targets: Record<string, number[]>, protocol: string, described: string): Figure[] {
  return [
    {
      name: `time-to-target-${protocol}`,
      title: `Training time to reach a target accuracy, ${described}`,
      critique:
        protocol === AUTHORS
          ? "Time to target under each method's authors' own protocol (only the methods the suite names); its test-time cost in the title."
          : 'Time to target under a protocol with EMP-SSL-style bags, the same patches for every method; its test-time cost in the title.',
      spec: spec(`Time to target accuracy (${described})`, timeToTargetFigure(rows, targets)),
    },
    {
      name: `accuracy-vs-cost-${protocol}`,
      title: `Accuracy against training cost, ${described}`,
      critique:
        protocol === AUTHORS ? "The accuracy curves under the authors' own protocols." : 'The accuracy curves under the bag protocol.',
      spec: spec(`Accuracy against training cost (${described})`, accuracyVsCost(rows)),
    },
  ];
}

/** Every figure of the report, in the order of the reviewers' critiques. */
export function buildFigures(rows: ResultRow[], targets: Record<string, number[]>): Figure[] {
  return [
    {
      name: 'accuracy-vs-cost',
      title: 'Accuracy against epochs, wall-clock, training FLOPs and crops processed',
      critique: '"Epochs" hide 10-100x more work per epoch: compare by what training cost.',
      spec: spec('Accuracy against training cost', accuracyVsCost(rows)),
    },
    {
      name: 'time-to-target',
      title: 'Training time to reach a target accuracy',
      critique: 'Time to reach a target accuracy, with a confidence interval across seeds.',
      spec: spec('Time to target accuracy', timeToTargetFigure(rows, targets)),
    },
    {
      name: 'memory',
      title: 'Peak memory per method',
      critique: 'Report GPU memory (here: what this backend can measure, each labelled).',
      spec: spec('Peak memory', memoryFigure(rows)),
    },
    {
      name: 'test-time-cost',
      title: 'Accuracy against test-time FLOPs per image',
      critique: 'EMP-SSL averages many patches per test image: its test-time cost belongs next to its accuracy.',
      spec: spec('Accuracy against test-time cost', testCostFigure(rows)),
    },
    {
      name: 'multi-crop-baselines',
      title: 'Baselines with many views and multi-crop on the same axes',
      critique: 'Tuned, intense multi-crop baselines (SimCLR and VICReg with many views, SwAV multi-crop) against EMP-SSL.',
      spec: spec('Multi-view baselines against EMP-SSL', accuracyVsCost(rows, multiCrop)),
    },
    {
      name: 'evaluation-variance',
      title: 'Bag-of-features accuracy over random repeats',
      critique: 'Bag-of-features evaluation is random: report its mean and spread.',
      spec: spec('Evaluation variance', varianceFigure(rows)),
    },
    {
      name: 'pareto',
      title: 'Who is best for a budget: the Pareto frontier',
      critique: 'Which method gives the best accuracy for a given training cost.',
      spec: spec('Accuracy against training FLOPs: Pareto frontier', paretoFigure(rows)),
    },
  ];
}

export interface SummaryLine {
  method: string;
  dataset: string;
  budget: string;
  seeds: number;
  failed: number;
  linear_mean: number | null;
  linear_sd: number | null;
  knn20_mean: number | null;
  train_seconds: number | null;
  train_flops: number | null;
  crops: number | null;
  epochs: number | null;
  step_peak_mib: number | null;
}

/** One line per method x dataset x budget (seeds aggregated: means, and the probe's spread). */
export function summaryLines(rows: ResultRow[]): SummaryLine[] {
  return summaryGroups(rows).map((g) => {
    const avg = (f: (r: ResultRow) => number | null | undefined) => {
      const xs = g.ok.map(f).filter((v): v is number => typeof v === 'number');
      return xs.length ? mean(xs) : null;
    };
    const lin = g.ok.map((r) => r.metrics.linear).filter((v) => v !== undefined);
    return {
      method: g.label,
      dataset: g.dataset,
      budget: g.budget,
      seeds: g.seeds,
      failed: g.failures.length,
      linear_mean: lin.length ? mean(lin) : null,
      // A spread needs two seeds.
      linear_sd: lin.length > 1 ? sd(lin) : null,
      knn20_mean: avg((r) => r.metrics.knn20),
      train_seconds: avg((r) => r.train_seconds),
      train_flops: avg((r) => r.train_flops),
      crops: avg((r) => r.crops),
      epochs: avg((r) => r.epochs),
      step_peak_mib: avg((r) => (r.memory.step_peak_bytes === null ? null : r.memory.step_peak_bytes / 2 ** 20)),
    };
  });
}
