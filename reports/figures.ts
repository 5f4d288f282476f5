/**
 * The report's figures as Vega-Lite specs built from result rows, one per reviewer critique. Each spec
 * carries its data inline, so the saved .vl.json renders (and restyles) on its own. Titles and captions that
 * name methods take the names from the rows (their labels), never from a list here.
 */
import { accuracyKey, metricKey, parseMetricKey, parseProtocol, type Protocol } from '../src/results/metric_keys.js';
import type { ResultRow } from '../src/results/rows.js';
import { budgetName, finalRows, roleOf, summaryGroups } from '../src/results/summary.js';
import { mean, pairedDifference, sd, tInterval } from '../src/stats.js';
import { accuracyOf, COST_AXES, okRows, paretoFrontier, TARGET_AXES, timeToTarget } from './analysis.js';
import type { Finding } from './findings.js';
import { AUTHORS, LINEAR, protocolOf } from './protocols.js';

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
  // Full-colour swatches: a legend otherwise takes the opacity of the first layer (a pale band).
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 360, titleLimit: 360, symbolOpacity: 1 },
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

const AXIS_TITLES: Record<string, string> = Object.fromEntries(COST_AXES.map((a) => [a.field, a.title]));

/**
 * Time to target on every cost axis: the median over seeds (a miss counted as never) as a bar, the range of the
 * seeds that reached it as a rule, each seed a dot, and "k/n reached" beside it.
 */
function timeToTargetFigure(rows: ResultRow[], targets: Record<string, number[]>): Record<string, unknown> {
  const ttt = TARGET_AXES.flatMap((axis) => timeToTarget(rows, targets, axis));
  const common = (t: (typeof ttt)[number]) => ({
    method: t.label,
    panel: `${t.dataset}: ${AXIS_TITLES[t.axis]}`,
    target: `${(100 * t.target).toFixed(0)}%`,
  });
  const summaries = ttt.map((t) => ({
    ...common(t),
    kind: 'median',
    median: t.median,
    low: t.low,
    high: t.high ?? t.low,
    status: `${t.reached}/${t.seeds} reached${t.median === null ? ', median never' : ''}`,
  }));
  const seeds = ttt.flatMap((t) =>
    t.costs.map((c, i) => ({ ...common(t), kind: 'seed', seed: t.bySeed[i], cost: c })).filter((v) => v.cost !== null),
  );
  const y = { field: 'method', type: 'nominal', title: 'method', sort: null };
  const median = { filter: "datum.kind == 'median'" };
  return {
    data: { values: [...summaries, ...seeds] },
    facet: {
      row: { field: 'panel', type: 'nominal', title: null, header: { labelAngle: 0, labelAlign: 'left' } },
      column: { field: 'target', type: 'nominal', title: 'target accuracy' },
    },
    spec: {
      width: 240,
      height: { step: 18 },
      layer: [
        {
          transform: [median, { filter: 'datum.median != null' }],
          mark: { type: 'bar', opacity: 0.7 },
          encoding: {
            y,
            x: {
              field: 'median',
              type: 'quantitative',
              title: 'cost to reach the target: median over seeds (bar), seeds (dots)',
              axis: { format: '~s' },
            },
            color: { field: 'method', type: 'nominal', legend: null },
          },
        },
        {
          transform: [median, { filter: 'datum.low != null' }],
          mark: { type: 'rule' },
          encoding: { y, x: { field: 'low', type: 'quantitative' }, x2: { field: 'high' } },
        },
        {
          transform: [{ filter: "datum.kind == 'seed'" }],
          mark: { type: 'point', filled: true, size: 25, color: 'black' },
          encoding: { y, x: { field: 'cost', type: 'quantitative' }, tooltip: [{ field: 'method' }, { field: 'seed' }, { field: 'cost' }] },
        },
        {
          transform: [median],
          mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 },
          encoding: { y, x: { value: 2 }, text: { field: 'status' } },
        },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  };
}

/** "Time to target 56.6, 70.0 and 83.3 % on synthetic: ..." from the targets and seeds drawn. */
function timeToTargetCaption(rows: ResultRow[], targets: Record<string, number[]>): string {
  const seeds = new Set(okRows(rows).map((r) => r.seed)).size;
  const where = Object.entries(targets)
    .map(([d, ts]) => `${listed(ts.map((t) => `${(100 * t).toFixed(1)} %`))} on ${d}`)
    .join('; ');
  return `Cost to reach ${where || 'the targets'} on each cost axis: the median of ${seeds} seed${seeds === 1 ? '' : 's'} with a miss counted as never (MLPerf), every seed a dot, how many reached it beside each bar.`;
}

/** Per method x dataset x budget, every seed's final linear accuracy as a dot, the mean as a tick, the 95 % t-interval as a rule. */
function finalAccuracyFigure(rows: ResultRow[]): Record<string, unknown> {
  const finals = finalRows(rows).filter((r) => r.status === 'ok' && r.metrics.linear !== undefined);
  const seeds = finals.map((r) => ({
    kind: 'seed',
    method: r.label,
    dataset: r.dataset,
    budget: budgetName(r),
    role: roleOf(r),
    seed: r.seed,
    accuracy: r.metrics.linear,
  }));
  const means = summaryGroups(rows)
    .map((g) => {
      const xs = g.ok.map((r) => r.metrics.linear).filter((v) => v !== undefined);
      const ci = tInterval(xs);
      return {
        kind: 'mean',
        method: g.label,
        dataset: g.dataset,
        budget: g.budget,
        mean: ci.mean,
        low: ci.low ?? ci.mean,
        high: ci.high ?? ci.mean,
        n: xs.length,
      };
    })
    .filter((m) => m.n > 0);
  const y = { field: 'method', type: 'nominal', title: 'method', sort: null };
  const x = { type: 'quantitative', title: 'final linear accuracy (test split)', axis: pct, scale: { zero: false } };
  return {
    data: { values: [...means, ...seeds] },
    facet: { row: { field: 'dataset', type: 'nominal', title: 'dataset' }, column: { field: 'budget', type: 'nominal', title: 'budget' } },
    spec: {
      width: 420,
      height: { step: 22 },
      layer: [
        {
          transform: [{ filter: "datum.kind == 'mean'" }],
          mark: { type: 'rule', strokeWidth: 2 },
          encoding: { y, x: { field: 'low', ...x }, x2: { field: 'high' }, color: { field: 'method', type: 'nominal', legend: null } },
        },
        {
          transform: [{ filter: "datum.kind == 'mean'" }],
          mark: { type: 'tick', thickness: 2, size: 16 },
          encoding: { y, x: { field: 'mean', ...x }, color: { field: 'method', type: 'nominal', legend: null } },
        },
        {
          transform: [{ filter: "datum.kind == 'seed'" }],
          mark: { type: 'point', filled: true, size: 30, color: 'black', opacity: 0.7 },
          encoding: {
            y,
            x: { field: 'accuracy', ...x },
            tooltip: [{ field: 'method' }, { field: 'seed' }, { field: 'accuracy', format: '.1%' }],
          },
        },
      ],
    },
  };
}

function finalAccuracyCaption(rows: ResultRow[]): string {
  const seeds = new Set(finalRows(rows).map((r) => r.seed)).size;
  return `Each method's final accuracy on ${seeds} seed${seeds === 1 ? '' : 's'} (dots), the mean (tick) and its 95 % t-interval (rule): what every verdict in the findings rests on.`;
}

const MEMORY_LABELS: Record<string, string> = {
  step_peak_bytes: 'tensors during one step (tf.profile peak)',
  tensor_peak_bytes: 'tensors between steps (tf.memory)',
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
        x: { field: 'mib', aggregate: 'max', type: 'quantitative', title: "peak memory (MiB, max over seeds; each trial's own)" },
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
        const p = parseProtocol(t.protocol);
        // Protocols drawn together are probed on the same images: the single view's point is its probe on the bags'
        // images (matched) where the row has bags, whose probe trains on fewer images than the single view's own.
        const matched = r.metrics[accuracyKey({ protocol: 'matched' }, LINEAR)];
        const accuracy =
          p === null ? undefined : p.protocol === 'single' && matched !== undefined ? matched : r.metrics[accuracyKey(p, LINEAR)];
        return {
          method: r.label,
          dataset: r.dataset,
          protocol:
            p?.protocol === 'single'
              ? 'single view'
              : p?.protocol === 'authors'
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
        .map((k) => ({ k, parts: parseMetricKey(k) }))
        .filter(
          ({ parts }) => parts?.protocol === 'bag' && parts.probe === 'linear' && parts.stat === 'mean' && parts.transfer === undefined,
        )
        .map(({ k, parts }) => {
          const { patches } = parts as { patches: number };
          const m = r.metrics[k];
          const s = r.metrics[metricKey({ protocol: 'bag', patches, probe: 'linear', stat: 'std' })] ?? 0;
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
            color: { field: 'method', type: 'nominal', title: 'method' },
            tooltip: [
              { field: 'label', title: 'method (budget)' },
              { field: 'cost', format: '.3s' },
              { field: 'accuracy', format: '.1%' },
            ],
            shape: { field: 'onFrontier', type: 'nominal', title: 'on the Pareto frontier' },
          },
        },
      ],
    },
  };
}

/** A trial that trains on more than two crops of each image (many views, multi-crop, many patches), and the references. */
const multiCrop = (r: ResultRow) => r.crops_per_step > 2 * r.batch_images || roleOf(r) !== 'ssl';

/** "a", "a and b", "a, b and c" (sorted, each once); past `max` names the rest are counted. */
export function listed(names: string[], max = 8): string {
  const xs = [...new Set(names)].sort();
  const shown = xs.length > max ? [...xs.slice(0, max), `${xs.length - max} more`] : xs;
  return shown.length <= 1 ? (shown[0] ?? '') : `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}

/** The labels of the rows that have `protocol`'s probe accuracy (on their own dataset). */
function labelsWith(rows: ResultRow[], protocol: Protocol): string[] {
  const key = accuracyKey(protocol, LINEAR);
  return rows.filter((r) => key in r.metrics).map((r) => r.label);
}

/** The multi-crop figure's title and caption, naming the settings drawn (the rows' labels). */
function multiCropCaption(rows: ResultRow[]): { title: string; critique: string } {
  const drawn = okRows(rows).filter(multiCrop);
  const many = drawn.filter((r) => roleOf(r) === 'ssl').map((r) => r.label);
  const references = drawn.filter((r) => roleOf(r) !== 'ssl').map((r) => r.label);
  const withReferences = references.length ? `, with the references ${listed(references)}` : '';
  if (many.length === 0)
    return {
      title: 'No setting here trains on more than two crops per image',
      critique: `No setting in these runs trains on more than two crops of each image${references.length ? `: the references ${listed(references)} only` : ''}.`,
    };
  return {
    title: `More than two crops per image: ${listed(many, 4)}`,
    critique: `Tuned settings with many views, multi-crop or many patches on the same axes: ${listed(many)}${withReferences}.`,
  };
}

/** The test-time cost figure's caption: which protocols average patches, and whose (from the rows' test costs). */
function testCostCaption(rows: ResultRow[]): string {
  const costs = finalRows(rows)
    .filter((r) => r.status === 'ok')
    .flatMap((r) => (r.test_cost ?? []).map((t) => ({ label: r.label, protocol: t.protocol, patches: t.patches })))
    .filter((c) => c.patches > 1);
  const bags = [...new Set(costs.filter((c) => c.protocol !== AUTHORS).map((c) => c.patches))].sort((a, b) => a - b);
  const authors = [...new Set(costs.filter((c) => c.protocol === AUTHORS).map((c) => `${c.label} (${c.patches} patches)`))].sort();
  const parts = [
    ...(bags.length ? [`bags of ${listed(bags.map(String))} patches for every method`] : []),
    ...(authors.length ? [`the authors' own protocols of ${listed(authors)}`] : []),
  ];
  if (parts.length === 0) return 'Every protocol measured here takes one view per test image: its test-time cost beside its accuracy.';
  return `Averaging many patches per test image (${parts.join('; ')}) multiplies the test-time cost: each protocol's cost beside its accuracy, every protocol's probe trained and tested on the same images (the single view on the bags' images).`;
}

/**
 * The figures drawn once per bag protocol (`rows` already read under it, targets resolved under it): time to
 * target and accuracy against cost, titled with the protocol's test-time cost per image.
 */
export function protocolFigures(rows: ResultRow[], targets: Record<string, number[]>, protocol: string, described: string): Figure[] {
  const p = protocolOf(protocol);
  const own = p.protocol === 'authors' ? listed(labelsWith(rows, p)) : '';
  return [
    {
      name: `time-to-target-${protocol}`,
      title: `Training time to reach a target accuracy, ${described}`,
      critique:
        p.protocol === 'bag'
          ? `Time to target when each test image is the mean feature of ${p.patches} patches, the same patches for every method; its test-time cost in the title.`
          : `Time to target under the authors' own protocols of ${own} (the methods the suite names one for); its test-time cost in the title.`,
      spec: spec(`Time to target accuracy (${described})`, timeToTargetFigure(rows, targets)),
    },
    {
      name: `accuracy-vs-cost-${protocol}`,
      title: `Accuracy against training cost, ${described}`,
      critique:
        p.protocol === 'bag'
          ? `The accuracy curves when each test image is the mean feature of ${p.patches} patches.`
          : `The accuracy curves of ${own} under their authors' own protocols.`,
      spec: spec(`Accuracy against training cost (${described})`, accuracyVsCost(rows)),
    },
  ];
}

/** Every figure of the report, in the order of the reviewers' critiques. */
export function buildFigures(rows: ResultRow[], targets: Record<string, number[]>): Figure[] {
  const multi = multiCropCaption(rows);
  return [
    {
      name: 'final-accuracy',
      title: 'Final accuracy at the budget: every seed, the mean and its 95 % interval',
      critique: finalAccuracyCaption(rows),
      spec: spec('Final accuracy at the budget', finalAccuracyFigure(rows)),
    },
    {
      name: 'accuracy-vs-cost',
      title: 'Accuracy against epochs, wall-clock, training FLOPs and crops processed',
      critique: '"Epochs" hide 10-100x more work per epoch: compare by what training cost.',
      spec: spec('Accuracy against training cost', accuracyVsCost(rows)),
    },
    {
      name: 'time-to-target',
      title: 'Training cost to reach a target accuracy: seconds, FLOPs and crops',
      critique: timeToTargetCaption(rows, targets),
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
      critique: testCostCaption(rows),
      spec: spec('Accuracy against test-time cost', testCostFigure(rows)),
    },
    {
      name: 'multi-crop-baselines',
      title: 'Baselines with many views and multi-crop on the same axes',
      critique: multi.critique,
      spec: spec(multi.title, accuracyVsCost(rows, multiCrop)),
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
  /** The mean's 95 % t-interval over seeds (null below two seeds). */
  linear_low: number | null;
  linear_high: number | null;
  /** Gain over the floor, paired by seed (the floor's own seed), with its 95 % t-interval; null for the floor. */
  gain_mean: number | null;
  gain_low: number | null;
  gain_high: number | null;
  knn20_mean: number | null;
  train_seconds: number | null;
  train_flops: number | null;
  crops: number | null;
  epochs: number | null;
  step_peak_mib: number | null;
}

/** One line per method x dataset x budget (seeds aggregated: means with their intervals, the gain paired by seed). */
export function summaryLines(rows: ResultRow[]): SummaryLine[] {
  const finals = finalRows(rows).filter((r) => r.status === 'ok' && r.metrics.linear !== undefined);
  return summaryGroups(rows).map((g) => {
    const avg = (f: (r: ResultRow) => number | null | undefined) => {
      const xs = g.ok.map(f).filter((v): v is number => typeof v === 'number');
      return xs.length ? mean(xs) : null;
    };
    const lin = g.ok.map((r) => r.metrics.linear).filter((v) => v !== undefined);
    const ci = tInterval(lin);
    const isFloor = g.ok.length > 0 && roleOf(g.ok[0]) === 'floor';
    const floor = new Map(
      finals
        .filter((r) => roleOf(r) === 'floor' && r.dataset === g.dataset && r.backbone === g.backbone)
        .map((r) => [r.seed, r.metrics.linear]),
    );
    const gain = isFloor || floor.size === 0 ? null : pairedDifference(new Map(g.ok.map((r) => [r.seed, r.metrics.linear])), floor);
    return {
      method: g.label,
      dataset: g.dataset,
      budget: g.budget,
      seeds: g.seeds,
      failed: g.failures.length,
      linear_mean: lin.length ? mean(lin) : null,
      // A spread needs two seeds.
      linear_sd: lin.length > 1 ? sd(lin) : null,
      linear_low: lin.length ? ci.low : null,
      linear_high: lin.length ? ci.high : null,
      gain_mean: gain && gain.n > 0 ? gain.mean : null,
      gain_low: gain ? gain.low : null,
      gain_high: gain ? gain.high : null,
      knn20_mean: avg((r) => r.metrics.knn20),
      train_seconds: avg((r) => r.train_seconds),
      train_flops: avg((r) => r.train_flops),
      crops: avg((r) => r.crops),
      epochs: avg((r) => r.epochs),
      step_peak_mib: avg((r) => (r.memory.step_peak_bytes === null ? null : r.memory.step_peak_bytes / 2 ** 20)),
    };
  });
}

/**
 * Twenty categorical colours (Tableau 20, the strong half first): a method's colour is its place in the registry's
 * order, so it is the same in every figure and every run; settings that are not a method's own name (simclr-x20)
 * take the colours after the registry's, in sorted order.
 */
const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
  '#aec7e8',
  '#ffbb78',
  '#98df8a',
  '#ff9896',
  '#c5b0d5',
  '#c49c94',
  '#f7b6d2',
  '#c7c7c7',
  '#dbdb8d',
  '#9edae5',
];

export function methodColours(rows: ResultRow[], methodOrder: string[]): { domain: string[]; range: string[] } {
  const labels = [...new Set(rows.map((r) => r.label))];
  const own = methodOrder.filter((m) => labels.includes(m));
  const rest = labels.filter((l) => !methodOrder.includes(l)).sort();
  const slot = (l: string) => (methodOrder.includes(l) ? methodOrder.indexOf(l) : methodOrder.length + rest.indexOf(l));
  const domain = [...own, ...rest];
  return { domain, range: domain.map((l) => PALETTE[slot(l) % PALETTE.length]) };
}

/** Gives every colour channel that encodes a method (field `method`) the registry's fixed colours, in place. */
export function applyMethodColours(spec: unknown, rows: ResultRow[], methodOrder: string[]): void {
  const scale = methodColours(rows, methodOrder);
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) for (const x of node) walk(x);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      const colour = o.color as Record<string, unknown> | undefined;
      if (colour && typeof colour === 'object' && colour.field === 'method') colour.scale = scale;
      for (const v of Object.values(o)) walk(v);
    }
  };
  walk(spec);
}

/**
 * The verdicts drawn: each paired difference (gain over the floor, each method against the reference, the
 * multi-crop baselines) with its 95 % interval, coloured by its verdict; a rule at 0.
 */
export function verdictFigure(found: Finding[]): Figure {
  const shown: Finding['question'][] = ['gain over the floor', 'accuracy at the budget', 'multi-crop baseline'];
  const values = found
    .filter((f) => shown.includes(f.question) && f.difference !== null)
    .map((f) => ({
      comparison: `${f.a} vs ${f.b}`,
      question: f.question,
      panel: `${f.dataset}, ${f.budget}: ${f.question}`,
      difference: f.difference,
      low: f.low ?? f.difference,
      high: f.high ?? f.difference,
      verdict: f.verdict,
      seeds: f.seeds,
    }));
  const y = { field: 'comparison', type: 'nominal', title: null, sort: null, axis: { labelLimit: 400 } };
  const colour = {
    field: 'verdict',
    type: 'nominal',
    title: 'verdict',
    scale: { domain: ['better', 'worse', 'no clear difference', 'too few seeds'], range: ['#2ca02c', '#d62728', '#7f7f7f', '#bbbbbb'] },
  };
  return {
    name: 'verdicts',
    title: 'Verdicts: paired differences over seeds with their 95 % intervals',
    critique: `Every method against the floor and against the reference, as the mean of per-seed differences with its 95 % t-interval: "better" or "worse" only when the interval excludes 0 (${values.length} comparisons).`,
    spec: spec('Verdicts: paired differences with 95 % intervals', {
      data: { values },
      facet: { row: { field: 'panel', type: 'nominal', title: null, header: { labelAngle: 0, labelAlign: 'left' } } },
      spec: {
        width: 420,
        height: { step: 20 },
        layer: [
          { mark: { type: 'rule', color: '#444', strokeDash: [3, 3] }, encoding: { x: { datum: 0 } } },
          {
            mark: { type: 'rule', strokeWidth: 2 },
            encoding: {
              y,
              x: {
                field: 'low',
                type: 'quantitative',
                title: 'difference in linear accuracy (percentage points)',
                axis: { format: '+.0%' },
              },
              x2: { field: 'high' },
              color: colour,
            },
          },
          {
            mark: { type: 'point', filled: true, size: 50 },
            encoding: {
              y,
              x: { field: 'difference', type: 'quantitative' },
              color: colour,
              tooltip: [
                { field: 'comparison' },
                { field: 'difference', format: '+.1%' },
                { field: 'low', format: '+.1%' },
                { field: 'high', format: '+.1%' },
                { field: 'seeds' },
              ],
            },
          },
        ],
      },
      resolve: { scale: { y: 'independent' } },
    }),
  };
}
