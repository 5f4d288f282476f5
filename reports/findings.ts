/**
 * Findings written from the data: one verdict per question a run can answer, each a difference between two
 * methods (or two protocols) with its 95 % interval over paired seeds. Read from result rows and manifests only.
 *
 * The rule, stated once (RULE): the seed is the unit. Trials of one seed share initial weights and image order
 * across methods, so a comparison is the mean of the per-seed differences with a two-sided 95 % Student-t
 * interval; it is "better" or "worse" only when the interval excludes 0, otherwise "no clear difference"; with
 * fewer than two paired seeds it is "too few seeds". P(A > B) is rliable's probability of improvement over all
 * pairs of seeds. Time to target compares cost distributions with a miss counted as never: "better" (cheaper)
 * only when every seed of A reaches the target before every seed of B (P = 1), "worse" when P = 0.
 */
import type { Manifest } from '../src/results/manifest.js';
import type { ResultRow } from '../src/results/rows.js';
import { budgetName, finalRows, groupBy, roleOf } from '../src/results/summary.js';
import { type Interval, iqm, pairedDifference, probabilityOfImprovement, stratifiedBootstrap, tInterval } from '../src/stats.js';
import { accuracyOf, type CostAxis, okRows, resolveTargets, TARGET_AXES, timeToTarget } from './analysis.js';

export const RULE =
  'The seed is the unit: trials of one seed share initial weights and image order across methods, so each comparison is the mean of per-seed differences with a two-sided 95 % Student-t interval over the paired seeds; "better"/"worse" only when the interval excludes 0, else "no clear difference". P(A > B): probability of improvement over all pairs of seeds (Mann-Whitney U / n_a n_b). Time to target: per seed, the interpolated cost of the first evaluation point reaching the target; median over seeds with a miss counted as never; "better" only when every seed of A reaches it before every seed of B. Across datasets: interquartile mean with a 95 % stratified-bootstrap interval (seeds resampled within each dataset, 10,000 replicates, seed 0).';

export type Verdict = 'better' | 'worse' | 'no clear difference' | 'too few seeds' | 'measured';

export type Question =
  | 'gain over the floor'
  | 'gap to the ceiling'
  | 'accuracy at the budget'
  | 'accuracy at equal cost'
  | 'multi-crop baseline'
  | 'time to target'
  | 'test-time cost'
  | 'peak memory'
  | 'evaluation variance'
  | 'transfer'
  | 'across datasets';

export interface Finding {
  question: Question;
  /** The two sides: methods' labels, or protocols. */
  a: string;
  b: string;
  dataset: string;
  budget: string;
  /** The cost axis the comparison is made at ("budget": at the end of the run's own budget). */
  axis: CostAxis | 'budget';
  /** What `difference` is in: "accuracy points", "MiB", "cost ratio", ... */
  unit: string;
  difference: number | null;
  low: number | null;
  high: number | null;
  seeds: number;
  p_improvement: number | null;
  verdict: Verdict;
  /** How the numbers were read: at the end of each run, or off the within-run curves (mid-schedule). */
  reading: 'final' | 'read off the curves' | 'per trial';
  sentence: string;
  /** Time to target only: the target and each side's median cost (null: never) and seeds that reached it. */
  target?: { accuracy: number; a_median: number | null; a_reached: number; b_median: number | null; b_reached: number };
}

const AXIS_WORDS: Record<CostAxis, string> = { train_seconds: 'seconds', train_flops: 'FLOPs', crops: 'crops', epochs: 'epochs' };
const KIND_AXIS: Record<string, CostAxis> = { time: 'train_seconds', flops: 'train_flops', patches: 'crops', epochs: 'epochs' };

const pts = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}`;
const num = (v: number) => (Math.abs(v) >= 1e4 ? v.toPrecision(3).replace(/e\+?/, 'e') : v.toFixed(v >= 100 ? 0 : 1));

function verdictOf(i: Interval): Verdict {
  if (i.low === null || i.high === null) return 'too few seeds';
  if (i.low > 0) return 'better';
  if (i.high < 0) return 'worse';
  return 'no clear difference';
}

function intervalWords(i: Interval, f: (v: number) => string): string {
  return i.low === null || i.high === null ? `${f(i.mean)} (one seed: no interval)` : `${f(i.mean)} (95 % CI ${f(i.low)} to ${f(i.high)})`;
}

/** Final accuracy per seed, one map per label, of one dataset x budget (ok trials only). */
type BySeed = Map<string, Map<number, number>>;

function finalBySeed(rows: ResultRow[], value: (r: ResultRow) => number | null | undefined): BySeed {
  const out: BySeed = new Map();
  for (const r of finalRows(rows)) {
    if (r.status !== 'ok') continue;
    const v = value(r);
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    if (!out.has(r.label)) out.set(r.label, new Map());
    out.get(r.label)!.set(r.seed, v);
  }
  return out;
}

/** "20,000 crops", "50 s", "2e13 FLOPs": a budget as a sentence says it. */
export function budgetWords(kind: string, amount: number): string {
  const n = (v: number) => (v >= 1e7 ? v.toExponential(2).replace('e+', 'e') : Math.round(v).toLocaleString('en-US'));
  const unit: Record<string, string> = { patches: 'crops', time: 's', flops: 'training FLOPs', epochs: 'epochs', steps: 'steps' };
  return `${n(amount)} ${unit[kind] ?? kind}`;
}

/** What a comparison rests on, for a sentence's tail: the budget, and on a time budget the machine and the crops. */
function context(ctx: Context, labels: string[], axis?: Finding['axis']): string {
  const parts = [`${ctx.dataset}, ${ctx.budgetWords}`];
  if (ctx.kind === 'time') {
    const crops = labels.map((l) => `${l} ${Math.round(ctx.meanCrops.get(l) ?? 0).toLocaleString('en-US')}`).join(', ');
    parts.push(`time budget on ${ctx.machine}; crops fitted: ${crops}`);
  } else if (axis === 'train_seconds') parts.push(`seconds on ${ctx.machine}`);
  return parts.join('; ');
}

interface Context {
  dataset: string;
  budget: string;
  budgetWords: string;
  kind: string;
  machine: string;
  meanCrops: Map<string, number>;
  rows: ResultRow[];
}

function compare(
  ctx: Context,
  question: Question,
  a: string,
  b: string,
  aBySeed: Map<number, number>,
  bBySeed: Map<number, number>,
  how: {
    axis: Finding['axis'];
    unit: string;
    reading: Finding['reading'];
    what: string;
    format: (v: number) => string;
    lowerIsBetter?: boolean;
  },
): Finding {
  const d = pairedDifference(aBySeed, bBySeed);
  const raw = verdictOf(d);
  // A cost (memory): less is better.
  const verdict = how.lowerIsBetter && (raw === 'better' || raw === 'worse') ? (raw === 'better' ? 'worse' : 'better') : raw;
  const p = probabilityOfImprovement([...aBySeed.values()], [...bBySeed.values()]);
  const sentence =
    `${question[0].toUpperCase()}${question.slice(1)}: ${a} vs ${b}, ${how.what}: ${intervalWords(d, how.format)} ${how.unit}, ` +
    `${d.n} paired seed${d.n === 1 ? '' : 's'}, P(${a} > ${b}) = ${Number.isNaN(p) ? '-' : p.toFixed(2)}: ${verdict}${how.lowerIsBetter ? ' (lower is better)' : ''} (${context(ctx, [a, b], how.axis)}).`;
  return {
    question,
    a,
    b,
    dataset: ctx.dataset,
    budget: ctx.budget,
    axis: how.axis,
    unit: how.unit,
    difference: d.n ? d.mean : null,
    low: d.low,
    high: d.high,
    seeds: d.n,
    p_improvement: Number.isNaN(p) ? null : p,
    verdict,
    reading: how.reading,
    sentence,
  };
}

const ACCURACY = { unit: 'accuracy points', format: pts };

/** The accuracy of one trial's curve at `cost` on `axis`, linearly interpolated between its points; null outside them. */
function accuracyAt(points: { cost: number; accuracy: number }[], cost: number): number | null {
  const s = [...points].sort((x, y) => x.cost - y.cost);
  for (let i = 0; i < s.length; i++) {
    if (s[i].cost === cost) return s[i].accuracy;
    if (s[i].cost > cost) {
      if (i === 0) return null;
      const t = (cost - s[i - 1].cost) / (s[i].cost - s[i - 1].cost);
      return s[i - 1].accuracy + t * (s[i].accuracy - s[i - 1].accuracy);
    }
  }
  return null;
}

/**
 * Accuracy at equal cost on an axis other than the budget's, read off each trial's curve at the largest cost every
 * compared trial reached (mid-schedule points: labelled so, since a run of that length would schedule differently).
 */
function equalCost(ctx: Context, axis: CostAxis, reference: string, others: string[]): Finding[] {
  const trials = groupBy(okRows(ctx.rows), (r) => r.trial_id).filter((t) => [reference, ...others].includes(t[0].label));
  if (trials.length === 0) return [];
  const common = Math.min(...trials.map((t) => Math.max(...t.map((r) => r[axis]))));
  if (!(common > 0)) return [];
  // At zero cost every trial of a seed is the untrained network of that seed: the floor's trial (same initial weights).
  const floor = new Map(
    finalRows(ctx.rows)
      .filter((r) => roleOf(r) === 'floor' && r.status === 'ok' && accuracyOf(r) !== null)
      .map((r) => [r.seed, accuracyOf(r)!]),
  );
  const at = new Map<string, Map<number, number>>();
  for (const t of trials) {
    const start = floor.has(t[0].seed) ? [{ cost: 0, accuracy: floor.get(t[0].seed)! }] : [];
    const v = accuracyAt([...start, ...t.map((r) => ({ cost: r[axis], accuracy: accuracyOf(r)! }))], common);
    if (v === null) continue;
    if (!at.has(t[0].label)) at.set(t[0].label, new Map());
    at.get(t[0].label)!.set(t[0].seed, v);
  }
  const ref = at.get(reference);
  if (!ref) return [];
  return others
    .filter((o) => at.has(o))
    .map((o) =>
      compare(ctx, 'accuracy at equal cost', o, reference, at.get(o)!, ref, {
        axis,
        reading: 'read off the curves',
        what: `linear accuracy at ${num(common)} ${AXIS_WORDS[axis]} read off the curves (mid-schedule)`,
        ...ACCURACY,
      }),
    );
}

function timeToTargetFindings(ctx: Context, reference: string, labels: string[], targets: Record<string, number[]>): Finding[] {
  const out: Finding[] = [];
  for (const axis of TARGET_AXES) {
    const all = timeToTarget(ctx.rows, targets, axis).filter((t) => t.dataset === ctx.dataset && t.budget === ctx.budget);
    for (const t of all) {
      const ref = all.find((x) => x.label === reference && x.target === t.target);
      const own = `median ${t.median === null ? 'never' : `${num(t.median)} ${AXIS_WORDS[axis]}`}, ${t.reached} of ${t.seeds} reached`;
      const target = `${(100 * t.target).toFixed(1)} %`;
      if (t.label === reference || !ref || !labels.includes(t.label)) {
        if (t.label !== reference) continue;
        out.push({
          question: 'time to target',
          a: t.label,
          b: t.label,
          dataset: ctx.dataset,
          budget: ctx.budget,
          axis,
          unit: AXIS_WORDS[axis],
          difference: t.median,
          low: t.low,
          high: t.high,
          seeds: t.seeds,
          p_improvement: null,
          verdict: 'measured',
          reading: 'read off the curves',
          sentence: `Time to target ${target} on ${AXIS_WORDS[axis]}: ${t.label} ${own} (${context(ctx, [t.label], axis)}).`,
          target: { accuracy: t.target, a_median: t.median, a_reached: t.reached, b_median: t.median, b_reached: t.reached },
        });
        continue;
      }
      const never = (c: number | null) => (c === null ? Number.POSITIVE_INFINITY : c);
      // Cheaper is better: P(A faster) is the probability of improvement on the negated costs.
      const p = probabilityOfImprovement(
        t.costs.map((c) => -never(c)),
        ref.costs.map((c) => -never(c)),
      );
      const verdict: Verdict =
        t.seeds < 2 || ref.seeds < 2 ? 'too few seeds' : p === 1 ? 'better' : p === 0 ? 'worse' : 'no clear difference';
      const ratio = t.median !== null && ref.median !== null && ref.median > 0 ? t.median / ref.median : null;
      out.push({
        question: 'time to target',
        a: t.label,
        b: reference,
        dataset: ctx.dataset,
        budget: ctx.budget,
        axis,
        unit: 'ratio of medians',
        difference: ratio,
        low: null,
        high: null,
        seeds: Math.min(t.seeds, ref.seeds),
        p_improvement: p,
        verdict,
        reading: 'read off the curves',
        target: { accuracy: t.target, a_median: t.median, a_reached: t.reached, b_median: ref.median, b_reached: ref.reached },
        sentence:
          `Time to target ${target} on ${AXIS_WORDS[axis]}: ${t.label} ${own}; ${reference} median ${ref.median === null ? 'never' : num(ref.median)}, ` +
          `${ref.reached} of ${ref.seeds}; P(${t.label} faster) = ${p.toFixed(2)}: ${verdict} (${context(ctx, [t.label, reference], axis)}; within-run curves).`,
      });
    }
  }
  return out;
}

/** Bags of patches against the single view probed on the same images: accuracy gained for the test-time cost paid. */
function testCostFindings(ctx: Context, labels: string[]): Finding[] {
  const finals = finalRows(ctx.rows).filter((r) => r.status === 'ok' && labels.includes(r.label));
  const bagKeys = [...new Set(finals.flatMap((r) => Object.keys(r.metrics).filter((k) => /^bag\d+_linear_mean$/.test(k))))];
  const out: Finding[] = [];
  for (const key of bagKeys) {
    const protocol = key.replace(/_linear_mean$/, '');
    const bags = finalBySeed(finals, (r) => r.metrics[key]);
    const matched = finalBySeed(finals, (r) => r.metrics.matched_linear_mean);
    for (const label of labels) {
      const b = bags.get(label);
      const m = matched.get(label);
      if (!b || !m) continue;
      const costs = finals.filter((r) => r.label === label).flatMap((r) => r.test_cost ?? []);
      const flops = (p: string) => costs.find((c) => c.protocol === p)?.flops_per_image ?? null;
      const ratio = flops(protocol) !== null && flops('single') ? flops(protocol)! / flops('single')! : null;
      out.push(
        compare(ctx, 'test-time cost', `${label} ${protocol}`, `${label} single view`, b, m, {
          axis: 'budget',
          reading: 'final',
          what: `accuracy of ${protocol} (${ratio === null ? '?' : `${ratio.toFixed(0)}x`} the single view's test FLOPs per image) against one view, both probed on the same images`,
          ...ACCURACY,
        }),
      );
    }
  }
  return out;
}

function memoryFindings(ctx: Context, reference: string, others: string[]): Finding[] {
  const peaks = finalBySeed(ctx.rows, (r) => (r.memory.step_peak_bytes === null ? null : r.memory.step_peak_bytes / 2 ** 20));
  const ref = peaks.get(reference);
  if (!ref) return [];
  return others
    .filter((o) => peaks.has(o))
    .map((o) =>
      compare(ctx, 'peak memory', o, reference, peaks.get(o)!, ref, {
        axis: 'budget',
        reading: 'per trial',
        what: "peak tensor memory of one training step (tf.profile, this trial's own)",
        unit: 'MiB',
        format: (v) => `${v >= 0 ? '+' : ''}${v.toFixed(0)}`,
        lowerIsBetter: true,
      }),
    );
}

/** The bag protocol's spread over test draws beside its spread over seeds: which one an interval must cover. */
function varianceFindings(ctx: Context, labels: string[]): Finding[] {
  const finals = finalRows(ctx.rows).filter((r) => r.status === 'ok' && labels.includes(r.label));
  const out: Finding[] = [];
  for (const label of labels) {
    const mine = finals.filter((r) => r.label === label);
    for (const key of [...new Set(mine.flatMap((r) => Object.keys(r.metrics).filter((k) => /^bag\d+_linear_std$/.test(k))))]) {
      const draws = mine.map((r) => r.metrics[key]).filter((v) => v !== undefined);
      const means = mine.map((r) => r.metrics[key.replace(/_std$/, '_mean')]).filter((v) => v !== undefined);
      if (means.length < 2) continue;
      const drawSd = tInterval(draws).mean;
      const seedMean = tInterval(means);
      const seedSd = Math.sqrt(means.reduce((s, v) => s + (v - seedMean.mean) ** 2, 0) / (means.length - 1));
      const protocol = key.replace(/_linear_std$/, '');
      out.push({
        question: 'evaluation variance',
        a: `${label} ${protocol}: test draws`,
        b: `${label} ${protocol}: seeds`,
        dataset: ctx.dataset,
        budget: ctx.budget,
        axis: 'budget',
        unit: 'accuracy points (sd)',
        difference: drawSd - seedSd,
        low: null,
        high: null,
        seeds: means.length,
        p_improvement: null,
        verdict: 'measured',
        reading: 'final',
        sentence: `Evaluation variance: ${label}'s ${protocol} accuracy varies by ${(100 * drawSd).toFixed(1)} points (sd) over random test draws and ${(100 * seedSd).toFixed(1)} over ${means.length} seeds (${ctx.dataset}, ${ctx.budgetWords}).`,
      });
    }
  }
  return out;
}

function machineOf(manifests: Manifest[]): string {
  const p = manifests[0]?.provenance;
  if (!p) return 'an unrecorded machine';
  return `${p.machine?.cpu ?? '?'} (${p.machine?.cores ?? '?'} cores), ${p.backend ?? p.backend_name ?? '?'}`;
}

/** Every finding the rows support: per dataset x budget, then across datasets where there are several. */
export function findings(rows: ResultRow[], manifests: Manifest[]): Finding[] {
  const latest = rows;
  const reference = manifests.map((m) => m.suite.reference).find((r) => typeof r === 'string') ?? null;
  const absolute: Record<string, number[]> = {};
  let gaps: number[] = [];
  for (const m of manifests) {
    Object.assign(absolute, m.suite.evaluation.targets);
    gaps = [...new Set([...gaps, ...(m.suite.evaluation.targetGaps ?? [])])];
  }
  const out: Finding[] = [];
  const floorByDataset = new Map<string, BySeed>();
  for (const g of groupBy(finalRows(latest), (r) => `${r.dataset}\u0000${budgetName(r)}`)) {
    const { dataset } = g[0];
    const budget = budgetName(g[0]);
    // The floor never trains: its rows stand at every budget of its dataset.
    const floorRows = finalRows(latest).filter((r) => r.dataset === dataset && roleOf(r) === 'floor');
    const trialIds = new Set(g.map((r) => r.trial_id));
    const groupRows = latest.filter((r) => trialIds.has(r.trial_id) || (roleOf(r) === 'floor' && r.dataset === dataset));
    const finals = finalRows(groupRows).filter((r) => r.status === 'ok');
    const labelsOf = (role: string) => [...new Set(finals.filter((r) => roleOf(r) === role).map((r) => r.label))];
    const ssl = labelsOf('ssl');
    if (ssl.length === 0 && labelsOf('ceiling').length === 0) continue;
    const meanCrops = new Map<string, number>();
    for (const l of [...ssl, ...labelsOf('ceiling')]) {
      const xs = finals.filter((r) => r.label === l).map((r) => r.crops);
      meanCrops.set(l, xs.reduce((a, b) => a + b, 0) / xs.length);
    }
    const ctx: Context = {
      dataset,
      budget,
      budgetWords: budgetWords(g[0].budget_kind, g[0].budget_amount),
      kind: g[0].budget_kind,
      machine: machineOf(manifests),
      meanCrops,
      rows: groupRows,
    };
    const acc = finalBySeed(groupRows, (r) => r.metrics.linear);
    floorByDataset.set(dataset, acc);
    const final = (what: string) => ({ axis: 'budget' as const, reading: 'final' as const, what, ...ACCURACY });
    const [floor] = [...new Set(floorRows.map((r) => r.label))];
    const [ceiling] = labelsOf('ceiling');
    for (const l of ssl) {
      if (floor && acc.has(floor))
        out.push(compare(ctx, 'gain over the floor', l, floor, acc.get(l)!, acc.get(floor)!, final('linear accuracy')));
      if (ceiling) out.push(compare(ctx, 'gap to the ceiling', l, ceiling, acc.get(l)!, acc.get(ceiling)!, final('linear accuracy')));
    }
    const ref = reference && ssl.includes(reference) ? reference : null;
    if (ref) {
      const others = ssl.filter((l) => l !== ref);
      const multi = new Set(finals.filter((r) => r.crops_per_step > 2 * r.batch_images && r.label !== ref).map((r) => r.label));
      for (const o of others)
        out.push(
          compare(
            ctx,
            multi.has(o) ? 'multi-crop baseline' : 'accuracy at the budget',
            o,
            ref,
            acc.get(o)!,
            acc.get(ref)!,
            final('linear accuracy'),
          ),
        );
      const budgetAxis = KIND_AXIS[g[0].budget_kind];
      for (const axis of TARGET_AXES.filter((a) => a !== budgetAxis)) out.push(...equalCost(ctx, axis, ref, others));
      out.push(...timeToTargetFindings(ctx, ref, others, resolveTargets(groupRows, absolute, gaps)));
      out.push(...memoryFindings(ctx, ref, others));
    }
    out.push(...testCostFindings(ctx, ssl));
    out.push(...varianceFindings(ctx, ssl));
    out.push(...transferFindings(ctx, ssl, floor));
  }
  out.push(...acrossDatasets(latest, reference));
  return out;
}

/** Each method's gain over the floor on each transfer dataset (probe on the frozen features of the other set). */
function transferFindings(ctx: Context, labels: string[], floor: string | undefined): Finding[] {
  if (!floor) return [];
  const finals = finalRows(ctx.rows).filter((r) => r.status === 'ok');
  const keys = [...new Set(finals.flatMap((r) => Object.keys(r.metrics).filter((k) => /^transfer\.[^.]+\.linear$/.test(k))))];
  const out: Finding[] = [];
  for (const key of keys) {
    const on = key.split('.')[1];
    const acc = finalBySeed(ctx.rows, (r) => r.metrics[key]);
    const f = acc.get(floor);
    if (!f) continue;
    for (const l of labels.filter((x) => acc.has(x)))
      out.push(
        compare(ctx, 'transfer', l, floor, acc.get(l)!, f, {
          axis: 'budget',
          reading: 'final',
          what: `linear accuracy on ${on} (trained on ${ctx.dataset})`,
          ...ACCURACY,
        }),
      );
  }
  return out;
}

/** Where a run has several datasets: each method's gain over the floor, IQM across datasets with a stratified bootstrap. */
function acrossDatasets(rows: ResultRow[], reference: string | null): Finding[] {
  const finals = finalRows(rows).filter((r) => r.status === 'ok' && r.metrics.linear !== undefined);
  const datasets = [...new Set(finals.map((r) => r.dataset))];
  if (datasets.length < 2) return [];
  const floors = new Map<string, Map<number, number>>();
  for (const r of finals.filter((x) => roleOf(x) === 'floor')) {
    if (!floors.has(r.dataset)) floors.set(r.dataset, new Map());
    floors.get(r.dataset)!.set(r.seed, r.metrics.linear);
  }
  const out: Finding[] = [];
  for (const g of groupBy(
    finals.filter((r) => roleOf(r) === 'ssl'),
    (r) => `${r.label}\u0000${budgetName(r)}`,
  )) {
    // Per dataset, each seed's gain over the floor of the same seed.
    const tasks = datasets
      .map((d) => g.filter((r) => r.dataset === d && floors.get(d)?.has(r.seed)).map((r) => r.metrics.linear - floors.get(d)!.get(r.seed)!))
      .filter((t) => t.length > 0);
    if (tasks.length < 2) continue;
    const b = stratifiedBootstrap(tasks, iqm);
    const verdict: Verdict = b.low > 0 ? 'better' : b.high < 0 ? 'worse' : 'no clear difference';
    const label = g[0].label;
    out.push({
      question: 'across datasets',
      a: label,
      b: 'the floor of each dataset',
      dataset: `${tasks.length} datasets`,
      budget: budgetName(g[0]),
      axis: 'budget',
      unit: 'accuracy points (IQM of gains)',
      difference: b.estimate,
      low: b.low,
      high: b.high,
      seeds: tasks.reduce((n, t) => n + t.length, 0),
      p_improvement: null,
      verdict,
      reading: 'final',
      sentence: `Across ${tasks.length} datasets: ${label}'s interquartile-mean gain over the floor is ${pts(b.estimate)} points (95 % stratified-bootstrap CI ${pts(b.low)} to ${pts(b.high)})${label === reference ? ' (the reference)' : ''}: ${verdict} (${budgetName(g[0])}).`,
    });
  }
  return out;
}

/** Findings grouped by question, in the order first found, each group titled. */
export function findingsByQuestion(fs: Finding[]): { title: string; findings: Finding[] }[] {
  return groupBy(fs, (f) => f.question).map((g) => ({ title: `${g[0].question[0].toUpperCase()}${g[0].question.slice(1)}`, findings: g }));
}

/** The findings as Markdown, grouped by question, under the rule they follow. */
export function findingsMarkdown(fs: Finding[]): string {
  if (fs.length === 0) return '## Findings\n\nNo finding: these runs have no method with a finished trial.\n';
  return [
    '## Findings',
    '',
    `Rule: ${RULE}`,
    '',
    ...findingsByQuestion(fs).flatMap((g) => [
      `### ${g.title}`,
      '',
      ...(g.title === 'Time to target' ? timeToTargetTable(g.findings) : g.findings.map((f) => `- ${f.sentence}`)),
      '',
    ]),
  ].join('\n');
}

/**
 * Time to target as one table (a sentence per method x target x axis would bury the rest): per method and target,
 * each axis's median cost and seeds reached, and the verdict against the reference. Every sentence is in findings.json.
 */
export function timeToTargetTable(fs: Finding[]): string[] {
  const axes = TARGET_AXES.filter((a) => fs.some((f) => f.axis === a));
  const cell = (f: Finding | undefined) => {
    if (!f?.target) return '-';
    const m = f.target.a_median === null ? 'never' : num(f.target.a_median);
    return `${m} (${f.target.a_reached}/${f.seeds})${f.verdict === 'measured' ? '' : `, ${f.verdict}`}`;
  };
  const rows = groupBy(fs, (f) => `${f.dataset}\u0000${f.budget}\u0000${f.a}\u0000${f.target?.accuracy}`);
  const reference = fs.find((f) => f.verdict !== 'measured')?.b;
  return [
    `Median cost over seeds (reached/seeds; a miss counts as never), read off the within-run curves${reference ? `; the verdict is against ${reference} (faster only when every seed of one reaches the target before every seed of the other)` : ''}.`,
    '',
    `| method | dataset | target | ${axes.map((a) => AXIS_WORDS[a]).join(' | ')} |`,
    `| --- | --- | ---: | ${axes.map(() => '---').join(' | ')} |`,
    ...rows.map((g) => {
      const f = g[0];
      return `| ${f.a} | ${f.dataset} | ${(100 * (f.target?.accuracy ?? 0)).toFixed(1)} % | ${axes.map((a) => cell(g.find((x) => x.axis === a))).join(' | ')} |`;
    }),
  ];
}

/** The verdicts a reader sees first (the terminal's summary): gains, the reference comparisons and the ceiling. */
export function headlineFindings(fs: Finding[]): Finding[] {
  const headline: Question[] = ['gain over the floor', 'accuracy at the budget', 'multi-crop baseline', 'across datasets'];
  return fs.filter((f) => headline.includes(f.question));
}
