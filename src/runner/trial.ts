/**
 * One trial: a method trained on a dataset under a budget, evaluated at fixed fractions of it.
 *
 * The training clock runs from before the data is read (MLPerf's rule): reading, augmentation, the step
 * and the device sync at its end (`await loss.data()`) all count; evaluation, checkpoints and result
 * writes do not, and the evaluation's own time is recorded beside it. The learning rate follows
 * progress = spent / budget. A checkpoint is written at each evaluation point before evaluating, so a
 * killed trial resumes from its last point.
 */
import path from 'node:path';
import { augmentBatch } from '../../datasets/augment/pipeline.js';
import { scaleRecipe } from '../../datasets/augment/recipes.js';
import type { Dataset } from '../../datasets/types.js';
import type { MethodConfig } from '../../methods/method.js';
import { getMethod } from '../../methods/registry.js';
import { DivergedError, SslModel } from '../model/ssl_model.js';
import { evaluate } from '../eval/evaluate.js';
import type { EvalSplits } from '../eval/splits.js';
import { measureTestCost } from '../eval/test_cost.js';
import type { MemoryFigures, MemoryMonitor } from '../measure/memory.js';
import { Rng } from '../../engine/random.js';
import { appendRow } from '../results/store.js';
import { ROW_SCHEMA, type ResultRow, type TrialStatus } from '../results/rows.js';
import { median } from '../stats.js';
import * as tf from '../../engine/tf.js';
import { formatBudget, formatSeconds, progress, reached, spent, takeAnotherStep, ZERO_COUNTERS, type Counters } from './budget.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { Progress } from './progress.js';
import { describeTrial, type Trial } from './trials.js';

export interface EvalTarget {
  dataset: Dataset;
  splits: EvalSplits;
}

export interface TrialEnv {
  runId: string;
  resultsFile: string;
  checkpointDir: string;
  data: EvalTarget;
  /** Datasets this trial's encoder is also probed on at its final point. */
  transfer: EvalTarget[];
  memory: MemoryMonitor;
  progress: Progress;
  index: number;
  total: number;
  /** Rows of this trial already on disk (resume). */
  doneRows: ResultRow[];
}

/** The runner's state at an evaluation point, saved with the model. */
interface RunnerState {
  point: number;
  counters: Counters;
  lossSum: number;
  lossCount: number;
  stepSeconds: number[];
  memory: MemoryFigures;
}

/**
 * The method as this trial runs it: suite overrides applied, views sized for the dataset. A batch size
 * other than the method's own scales its learning rate linearly (lr x batch / default batch; Goyal et al.
 * 2017, as solo-learn scales its configs' rates), unless the suite sets the rate itself.
 */
export function configureMethod(trial: Trial, imageSide: number): MethodConfig {
  const base = getMethod(trial.method.method, trial.method.views);
  const batchImages = trial.batchImages ?? trial.method.batchImages ?? base.batchImages;
  const optimizer = { ...base.optimizer, lr: trial.method.lr ?? (base.optimizer.lr * batchImages) / base.batchImages };
  if (trial.method.warmup !== undefined) optimizer.warmup = trial.method.warmup;
  return { ...base, recipe: scaleRecipe(base.recipe, imageSide), optimizer, batchImages };
}

/**
 * Errors that mean the trial did not fit in memory (tfjs, wasm and TensorFlow phrase it variously). Other
 * errors (a bug, a stack overflow, a wasm trap) stop the run instead of being recorded as a result.
 */
function isOutOfMemory(e: unknown): boolean {
  return /out of memory|\bOOM\b|cannot allocate|allocation failed|failed to allocate|could not allocate/i.test(
    String((e as Error)?.message ?? e),
  );
}

export async function runTrial(trial: Trial, env: TrialEnv): Promise<ResultRow[]> {
  const { dataset } = env.data;
  const [side] = dataset.imageShape;
  const method = configureMethod(trial, side);
  const images = Math.min(method.batchImages, dataset.train.size);
  const crops = method.recipe.views.reduce((n, v) => n + v.count, 0) * images;
  const fractions = trial.evaluation.fractions;
  const rng = new Rng(trial.seed).fork(`trial/${trial.dataset}`);
  const model = new SslModel(method, trial.backbone, trial.seed);
  const flopsPerStep = model.stepFlops(images);
  const checkpointFile = path.join(env.checkpointDir, `${trial.id}.ckpt`);
  const rows: ResultRow[] = [];
  const name = describeTrial(trial);

  env.memory.startTrial();
  let s: RunnerState = { point: 0, counters: { ...ZERO_COUNTERS }, lossSum: 0, lossCount: 0, stepSeconds: [], memory: env.memory.read() };
  let pendingEval = false;
  const saved = env.doneRows.length > 0 ? loadCheckpoint<RunnerState>(checkpointFile) : null;
  if (saved) {
    model.restoreCheckpoint(saved.tensors, saved.counters);
    tf.dispose(Object.values(saved.tensors));
    s = saved.state;
    const written = new Set(env.doneRows.map((r) => r.point));
    // The checkpoint is taken before its point is evaluated: evaluate it now unless its row is on disk.
    pendingEval = !written.has(s.point);
    if (!pendingEval) Object.assign(s, { point: s.point + 1, lossSum: 0, lossCount: 0 });
    env.progress.log(`resuming ${name} at ${(100 * progress(s.counters, trial.budget)).toFixed(0)}% of ${formatBudget(trial.budget)}`);
  }

  /** The next step's cost in the budget's unit (for time, the median of the last five steps). */
  const nextCost = (): number => {
    switch (trial.budget.kind) {
      case 'time':
        return s.stepSeconds.length ? median(s.stepSeconds.slice(-5)) : 0;
      case 'flops':
        return flopsPerStep;
      case 'patches':
        return crops;
      case 'epochs':
        return images / dataset.train.size;
      case 'steps':
        return 1;
    }
  };

  const row = (
    status: TrialStatus,
    final: boolean,
    metrics: Record<string, number>,
    evalSeconds: number,
    extra: Partial<ResultRow> = {},
  ): ResultRow => ({
    schema: ROW_SCHEMA,
    run_id: env.runId,
    trial_id: trial.id,
    method: trial.method.method,
    label: trial.method.label,
    dataset: trial.dataset,
    backbone: trial.backbone,
    seed: trial.seed,
    budget_kind: trial.budget.kind,
    budget_amount: trial.budget.amount,
    batch_images: images,
    crops_per_step: crops,
    point: s.point,
    fraction: final ? 1 : fractions[s.point],
    final,
    status,
    train_seconds: s.counters.seconds,
    train_flops: s.counters.flops,
    crops: s.counters.crops,
    images: s.counters.images,
    steps: s.counters.steps,
    epochs: s.counters.epochs,
    loss: s.lossCount > 0 ? s.lossSum / s.lossCount : null,
    lr: model.learningRate(progress(s.counters, trial.budget)),
    eval_seconds: evalSeconds,
    metrics,
    memory: maxMemory(s.memory, env.memory.read()),
    time: new Date().toISOString(),
    ...extra,
  });

  const write = (r: ResultRow) => {
    appendRow(env.resultsFile, r);
    rows.push(r);
    s.lossSum = 0;
    s.lossCount = 0;
  };

  const evaluatePoint = async (final: boolean): Promise<void> => {
    if (!pendingEval) {
      s.memory = maxMemory(s.memory, env.memory.read());
      const { tensors, counters } = model.checkpointState();
      await saveCheckpoint(checkpointFile, s, counters, tensors);
    }
    pendingEval = false;
    const t0 = process.hrtime.bigint();
    const e = trial.evaluation;
    const options = { layer: e.layer, knn: e.knn, linear: e.linear, bag: final ? e.bag : { ...e.bag, patches: [] } };
    const evalRng = rng.fork(`eval ${s.point}`);
    const metrics = await evaluate(model, dataset, env.data.splits, method.recipe, options, evalRng);
    const extra: Partial<ResultRow> = {};
    if (final) {
      for (const t of env.transfer) {
        const recipe = scaleRecipe(getMethod(trial.method.method, trial.method.views).recipe, t.dataset.imageShape[0]);
        const m = await evaluate(
          model,
          t.dataset,
          t.splits,
          recipe,
          { ...options, bag: { ...e.bag, patches: [] } },
          evalRng.fork(t.dataset.name),
        );
        for (const [k, v] of Object.entries(m)) metrics[`transfer.${t.dataset.name}.${k}`] = v;
      }
      extra.test_cost = await measureTestCost(
        model,
        e.layer,
        side,
        method.recipe.views[0].size,
        e.testCost.patches,
        e.testCost.throughputCrops,
      );
    }
    const evalSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const r = row('ok', final, metrics, evalSeconds, extra);
    write(r);
    const shown = ['knn20', 'linear', ...e.bag.patches.map((k) => `bag${k}_linear_mean`)]
      .filter((k) => k in metrics)
      .map((k) => `${k} ${(100 * metrics[k]).toFixed(1)}%`);
    env.progress.log(
      `  ${trial.method.label} ${(100 * (final ? 1 : fractions[r.point])).toFixed(1)}% of budget: ${shown.join(', ')}  (eval ${formatSeconds(evalSeconds)})`,
    );
  };

  env.progress.trialStarted();
  env.progress.log(
    `[${env.index}/${env.total}] ${name}: ${formatBudget(trial.budget)}, ${images} images x ${crops / images} crops per step, ${(flopsPerStep / 1e9).toFixed(1)} GFLOP/step`,
  );
  let stepsThisProcess = 0;
  try {
    if (pendingEval) {
      await evaluatePoint(s.point === fractions.length - 1);
      if (rows[rows.length - 1]?.final) return rows;
      s.point++;
    }
    let evaluatedAtStep = -1;
    for (;;) {
      while (s.point < fractions.length - 1 && reached(s.counters, trial.budget, fractions[s.point], nextCost())) {
        // Two points that fall on the same step (a budget of few steps) are evaluated once.
        if (s.counters.steps !== evaluatedAtStep) await evaluatePoint(false);
        evaluatedAtStep = s.counters.steps;
        s.point++;
      }
      if (!takeAnotherStep(s.counters, trial.budget, nextCost())) break;
      const t0 = process.hrtime.bigint();
      const step = s.counters.steps;
      const indices = batchIndices(rng, dataset.train.size, s.counters.images, images);
      const [h, w] = dataset.imageShape;
      const batch = augmentBatch(dataset.train.readImages(indices), images, h, w, method.recipe, rng.fork(`augment ${step}`));
      const p = progress(s.counters, trial.budget);
      // One step (the second this process runs, past one-time set-up) is profiled for its peak memory.
      const run = () => model.step(batch, images, p);
      const loss = stepsThisProcess === 1 ? await env.memory.profileStep(run) : await run();
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      stepsThisProcess++;
      const c = s.counters;
      c.seconds += seconds;
      c.steps += 1;
      c.images += images;
      c.crops += batch.crops;
      c.flops += flopsPerStep;
      c.epochs = c.images / dataset.train.size;
      s.stepSeconds.push(seconds);
      if (s.stepSeconds.length > 20) s.stepSeconds.shift();
      s.lossSum += loss;
      s.lossCount += 1;
      env.memory.sample();
      const fraction = progress(c, trial.budget);
      const perStep = median(s.stepSeconds.slice(-5));
      const left = trial.budget.amount - spent(c, trial.budget.kind);
      env.progress.update({
        trial: `${trial.method.label} ${trial.dataset} seed ${trial.seed}`,
        index: env.index,
        total: env.total,
        fraction,
        spentText: `${formatBudget({ kind: trial.budget.kind, amount: spent(c, trial.budget.kind) })} of ${formatBudget(trial.budget).replace(/^\w+ /, '')}`,
        loss,
        cropsPerSecond: batch.crops / seconds,
        trialEta: Math.max(0, (left / nextCost()) * perStep),
      });
    }
    s.point = fractions.length - 1;
    await evaluatePoint(true);
  } catch (e) {
    const status: TrialStatus | null = e instanceof DivergedError ? 'diverged' : isOutOfMemory(e) ? 'oom' : null;
    if (status === null) throw e;
    const hint = status === 'oom' ? ' (lower batchImages or views in the suite, or use a backend with more memory)' : '';
    const r = row(status, true, {}, 0, { error: `${(e as Error).message}${hint}` });
    write(r);
    env.progress.log(
      `  ${trial.method.label}: ${status} at ${(100 * progress(s.counters, trial.budget)).toFixed(1)}% of the budget: ${r.error}`,
    );
  } finally {
    model.dispose();
  }
  return rows;
}

function maxMemory(a: MemoryFigures, b: MemoryFigures): MemoryFigures {
  const max = (x: number | null, y: number | null) => (x === null ? y : y === null ? x : Math.max(x, y));
  return {
    tensor_peak_bytes: Math.max(a.tensor_peak_bytes, b.tensor_peak_bytes),
    step_peak_bytes: max(a.step_peak_bytes, b.step_peak_bytes),
    rss_peak_bytes: Math.max(a.rss_peak_bytes, b.rss_peak_bytes),
    gpu_peak_bytes: max(a.gpu_peak_bytes, b.gpu_peak_bytes),
    webgpu_allocated_peak_bytes: max(a.webgpu_allocated_peak_bytes ?? null, b.webgpu_allocated_peak_bytes ?? null),
  };
}

/** The next `count` images after `consumed` in a fresh seeded permutation per epoch (without replacement). */
export function batchIndices(rng: Rng, size: number, consumed: number, count: number): Int32Array {
  const out = new Int32Array(count);
  let epoch = -1;
  let order: Int32Array | null = null;
  for (let i = 0; i < count; i++) {
    const n = consumed + i;
    const e = Math.floor(n / size);
    if (e !== epoch) {
      epoch = e;
      order = rng.fork(`epoch ${e}`).permutation(size);
    }
    out[i] = order![n % size];
  }
  return out;
}
