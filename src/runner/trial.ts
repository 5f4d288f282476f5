/**
 * One trial: a method trained on a dataset under a budget, evaluated at fixed fractions of it.
 *
 * The training clock runs from before the data is read (MLPerf's rule): reading, augmentation, the step
 * and the device sync at its end (`await loss.data()`) all count; evaluation, checkpoints and result
 * writes do not, and the evaluation's own time is recorded beside it. The learning rate follows
 * progress = spent / budget. A checkpoint is written at each evaluation point before evaluating, so a
 * killed trial resumes from its last point. The floor (`random-init`) takes no step: it is evaluated once,
 * at zero cost.
 */
import path from 'node:path';
import { adaptRecipe } from '../../datasets/augment/recipes.js';
import type { Dataset } from '../../datasets/types.js';
import { Rng } from '../../engine/random.js';
import type { AugmentPool } from '../../datasets/augment/augment_pool.js';
import * as tf from '../../engine/tf.js';
import type { MethodConfig, MethodRole } from '../../methods/method.js';
import { getMethod } from '../../methods/registry.js';
import { applySettings } from '../../methods/settings.js';
import { bagRecipe, evaluate } from '../eval/evaluate.js';
import type { EvalSplits } from '../eval/splits.js';
import type { TestCostCache } from '../eval/test_cost.js';
import type { MemoryFigures, MemoryMonitor } from '../measure/memory.js';
import { DivergedError, SslModel } from '../model/ssl_model.js';
import { largest } from '../model/update_norms.js';
import type { ResultRow, TrialStatus } from '../results/rows.js';
import type { RowOrigin } from '../results/origin.js';
import { StorageError } from '../results/disk.js';
import { appendRow } from '../results/store.js';
import { type Counters, formatBudget, formatSeconds, progress, reached, spent, takeAnotherStep, ZERO_COUNTERS } from './budget.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { checkInjectedFault } from './faults.js';
import type { Progress } from './progress.js';
import { InputQueue } from './input_queue.js';
import { StepClock } from './step_clock.js';
import { buildRow, maxMemory } from './trial_row.js';
import { describeTrial, type Trial } from './trials.js';

export interface EvalTarget {
  dataset: Dataset;
  splits: EvalSplits;
}

export interface TrialEnv {
  runId: string;
  /** Which code on which machine writes this trial's rows. */
  origin: RowOrigin;
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
  /** Test-time costs measured once per network shape in the run. */
  testCosts: TestCostCache;
  /** Cuts the training crops (on worker threads, or inline with 0 workers). */
  augment: AugmentPool;
  /** Record each layer's relative update size (rows' `update_norms`, and the layers named when a loss diverges). */
  logUpdates?: boolean;
}

/** Steps whose input workers prepare ahead of the one training (a bounded queue). */
const PREFETCH_STEPS = 2;

/** The runner's state at an evaluation point, saved with the model. */
interface RunnerState {
  point: number;
  counters: Counters;
  lossSum: number;
  lossCount: number;
  stepSeconds: number[];
  /** Training-clock seconds spent waiting for the input pipeline (part of counters.seconds). */
  inputWaitSeconds: number;
  memory: MemoryFigures;
}

/**
 * The method as this trial runs it: the suite entry's settings applied (methods/settings.ts: a batch size other
 * than the method's own scales its learning rate by the method's rule unless the entry sets the rate), the suite's
 * batch control over the entry's, and the views sized and normalised for the dataset's images.
 */
export function configureMethod(trial: Trial, imageShape: readonly number[]): MethodConfig {
  const entry = { ...trial.method, batchImages: trial.batchImages ?? trial.method.batchImages };
  const m = applySettings(getMethod(entry.method, entry.views), entry);
  return { ...m, recipe: adaptRecipe(m.recipe, imageShape[0], imageShape[2]) };
}

/** Errors that mean the trial did not fit in memory (tfjs, wasm and TensorFlow phrase it variously). */
function isOutOfMemory(e: unknown): boolean {
  return /out of memory|\bOOM\b|cannot allocate|allocation failed|failed to allocate|could not allocate|^Aborted\(\)/i.test(
    String((e as Error)?.message ?? e),
  );
}

/**
 * The wasm module aborted (its 4 GB heap ran out) or its memory is corrupt: every later trial in this process
 * would fail, so the run stops after recording this one.
 */
function backendIsDead(e: unknown): boolean {
  return /^Aborted\(\)|memory access out of bounds/.test(String((e as Error)?.message ?? e));
}

export class BackendDeadError extends Error {
  constructor(cause: string) {
    super(
      `the backend cannot go on in this process (${cause}); the run stops here with the trial recorded. ` +
        'Run the same command with --resume to continue with the remaining trials in a fresh process.',
    );
  }
}

export async function runTrial(trial: Trial, env: TrialEnv): Promise<ResultRow[]> {
  let run: TrialRun;
  try {
    run = new TrialRun(trial, env);
  } catch (e) {
    const row = setupFailure(trial, env, e);
    if (backendIsDead(e)) throw new BackendDeadError(errorMessage(e));
    return [row];
  }
  try {
    await run.run();
  } finally {
    run.dispose();
  }
  return run.rows;
}

/** A trial that could not be set up (its method or model threw) is an `error` row; the run goes on. */
function setupFailure(trial: Trial, env: TrialEnv, e: unknown): ResultRow {
  let role: MethodRole = 'ssl';
  try {
    role = getMethod(trial.method.method).role;
  } catch {
    // An unknown method is refused when the suite loads; keep the default role.
  }
  const r = buildRow(
    {
      runId: env.runId,
      trial,
      role,
      images: trial.batchImages ?? trial.method.batchImages ?? 0,
      crops: 0,
      point: trial.evaluation.fractions.length - 1,
      counters: { ...ZERO_COUNTERS },
      inputWaitSeconds: 0,
      loss: null,
      lr: 0,
      memory: env.memory.read(),
      origin: env.origin,
    },
    'error',
    true,
    {},
    0,
    { error: `set-up failed: ${errorMessage(e)}` },
  );
  appendRow(env.resultsFile, r);
  env.progress.log(`[${env.index}/${env.total}] ${describeTrial(trial)}: error before training: ${r.error}`);
  return r;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
}

class TrialRun {
  readonly rows: ResultRow[] = [];
  private readonly method: MethodConfig;
  private readonly model: SslModel;
  private readonly images: number;
  private readonly crops: number;
  private readonly flopsPerStep: number;
  private readonly rng: Rng;
  private readonly checkpointFile: string;
  private readonly name: string;
  private s: RunnerState;
  private clock: StepClock;
  /** A resumed trial whose checkpointed point has no row yet. */
  private pendingEval = false;
  /** The trial continues from a checkpoint a stopped process wrote. */
  private resumed = false;
  private stepsThisProcess = 0;
  private readonly inputs: InputQueue;

  constructor(
    private readonly trial: Trial,
    private readonly env: TrialEnv,
  ) {
    const { dataset } = env.data;
    this.method = configureMethod(trial, dataset.imageShape);
    this.images = Math.min(this.method.batchImages, dataset.train.size);
    this.crops = this.method.recipe.views.reduce((n, v) => n + v.count, 0) * this.images;
    this.rng = new Rng(trial.seed).fork(`trial/${trial.dataset}`);
    this.model = new SslModel(this.method, trial.backbone, trial.seed, {
      inChannels: dataset.imageShape[2],
      classes: dataset.classes.length,
      trackUpdates: env.logUpdates ?? false,
    });
    this.flopsPerStep = this.model.stepFlops(this.images);
    this.checkpointFile = path.join(env.checkpointDir, `${trial.id}.ckpt`);
    this.name = describeTrial(trial);
    env.memory.startTrial();
    this.s = {
      point: 0,
      counters: { ...ZERO_COUNTERS },
      lossSum: 0,
      lossCount: 0,
      stepSeconds: [],
      inputWaitSeconds: 0,
      memory: env.memory.read(),
    };
    // Preparing ahead only helps when workers do it; inline, it would cut batches the budget may never use.
    const prefetch = env.augment.workers > 0 ? PREFETCH_STEPS : 0;
    this.inputs = new InputQueue(env.augment, dataset, this.rng, this.images, this.method.recipe, !!this.method.labels, prefetch);
    this.clock = this.makeClock();
  }

  private makeClock(): StepClock {
    const shape = { images: this.images, crops: this.crops, flopsPerStep: this.flopsPerStep, trainSize: this.env.data.dataset.train.size };
    return new StepClock(this.trial.budget, shape, this.s.counters, this.s.stepSeconds);
  }

  /** Continues from the checkpoint when rows of this trial are on disk already. */
  private resume(): void {
    const saved = this.env.doneRows.length > 0 ? loadCheckpoint<RunnerState>(this.checkpointFile) : null;
    if (!saved) return;
    this.model.restoreCheckpoint(saved.tensors, saved.counters);
    this.resumed = true;
    tf.dispose(Object.values(saved.tensors));
    this.s = { ...saved.state, inputWaitSeconds: saved.state.inputWaitSeconds ?? 0 };
    this.clock = this.makeClock();
    const written = new Set(this.env.doneRows.map((r) => r.point));
    // The checkpoint is taken before its point is evaluated: evaluate it now unless its row is on disk.
    this.pendingEval = !written.has(this.s.point);
    if (!this.pendingEval) Object.assign(this.s, { point: this.s.point + 1, lossSum: 0, lossCount: 0 });
    this.env.progress.log(
      `resuming ${this.name} at ${(100 * progress(this.s.counters, this.trial.budget)).toFixed(0)}% of ${formatBudget(this.trial.budget)}`,
    );
  }

  async run(): Promise<void> {
    const { env, trial } = this;
    const fractions = trial.evaluation.fractions;
    this.resume();
    env.progress.trialStarted();
    const perStep = this.method.role === 'floor' ? 'untrained' : `${this.images} images x ${this.crops / this.images} crops per step`;
    env.progress.log(
      `[${env.index}/${env.total}] ${this.name}: ${formatBudget(trial.budget)}, ${perStep}, ${(this.flopsPerStep / 1e9).toFixed(1)} GFLOP/step`,
    );
    try {
      if (this.pendingEval) {
        await this.evaluatePoint(this.s.point === fractions.length - 1);
        if (this.rows[this.rows.length - 1]?.final) return;
        this.s.point++;
      }
      if (this.method.role !== 'floor') {
        try {
          await this.train();
        } finally {
          this.inputs.clear();
        }
      }
      this.s.point = fractions.length - 1;
      await this.evaluatePoint(true);
    } catch (e) {
      this.recordFailure(e);
    }
  }

  /** Steps until the budget is spent, evaluating at each fraction it passes (all but the final one). */
  private async train(): Promise<void> {
    const { fractions } = this.trial.evaluation;
    const { budget } = this.trial;
    let evaluatedAtStep = -1;
    for (;;) {
      while (this.s.point < fractions.length - 1 && reached(this.s.counters, budget, fractions[this.s.point], this.clock.nextCost())) {
        // Two points that fall on the same step (a budget of few steps) are evaluated once.
        if (this.s.counters.steps !== evaluatedAtStep) await this.evaluatePoint(false);
        evaluatedAtStep = this.s.counters.steps;
        this.s.point++;
      }
      if (!takeAnotherStep(this.s.counters, budget, this.clock.nextCost())) return;
      await this.step();
      // A step's promises settle as microtasks: without a turn of the event loop between steps, a trial would
      // never let Ctrl-C's handler or the run lock's refresh timer run (src/runner/interrupt.ts, run_lock.ts).
      await new Promise(setImmediate);
    }
  }

  /** One training step on the clock: wait for its input (read and augmented ahead), step, sync; then the counters and the progress line. */
  private async step(): Promise<void> {
    const { budget } = this.trial;
    const t0 = process.hrtime.bigint();
    const c = this.s.counters;
    const { batch, labels } = await this.inputs.take(c.steps, c.images);
    this.s.inputWaitSeconds += Number(process.hrtime.bigint() - t0) / 1e9;
    const p = progress(c, budget);
    // One step (the second this process runs, past one-time set-up) is profiled for its peak memory.
    checkInjectedFault(this.trial.method.label);
    const run = () => this.model.step(batch, this.images, p, labels);
    const loss = this.stepsThisProcess === 1 ? await this.env.memory.profileStep(run) : await run();
    const measured = Number(process.hrtime.bigint() - t0) / 1e9;
    // The trial paid its one-time set-up (kernel compilation, first allocations) before it was stopped: the first
    // step of a resumed process is charged no more than the steps before the stop, so a time budget continues
    // where it stopped instead of paying the warm-up again.
    const seconds =
      this.resumed && this.stepsThisProcess === 0 && this.s.stepSeconds.length > 0
        ? Math.min(measured, this.clock.secondsPerStep())
        : measured;
    this.stepsThisProcess++;
    this.clock.advance(seconds, batch.crops);
    this.s.lossSum += loss;
    this.s.lossCount += 1;
    this.env.memory.sample();
    const left = budget.amount - spent(c, budget.kind);
    this.env.progress.update({
      trial: `${this.trial.method.label} ${this.trial.dataset} seed ${this.trial.seed}`,
      index: this.env.index,
      total: this.env.total,
      fraction: progress(c, budget),
      spentText: `${formatBudget({ kind: budget.kind, amount: spent(c, budget.kind) })} of ${formatBudget(budget).replace(/^\w+ /, '')}`,
      loss,
      cropsPerSecond: batch.crops / seconds,
      trialEta: Math.max(0, (left / this.clock.nextCost()) * this.clock.secondsPerStep()),
    });
  }

  /** Checkpoint (unless resuming that very point), evaluate off the clock, write the row. */
  private async evaluatePoint(final: boolean): Promise<void> {
    const { trial, env, model, method } = this;
    if (!this.pendingEval) {
      this.s.memory = maxMemory(this.s.memory, env.memory.read());
      const { tensors, counters } = model.checkpointState();
      await saveCheckpoint(this.checkpointFile, this.s, counters, tensors);
    }
    this.pendingEval = false;
    const t0 = process.hrtime.bigint();
    const e = trial.evaluation;
    const [side, , channels] = env.data.dataset.imageShape;
    const bag = {
      ...e.bag,
      patches: final || e.bag.every ? e.bag.patches : [],
      recipe: bagRecipe(e.bag.recipe, method.recipe, side, channels),
    };
    // The method's authors' protocol, where the suite names one, wherever bags are evaluated.
    const own = e.authors[trial.method.method];
    const authors = own && (final || e.bag.every) ? { ...own, recipe: bagRecipe('own', method.recipe, side, channels) } : undefined;
    const options = { layer: e.layer, knn: e.knn, linear: e.linear, bag, pool: env.augment, authors };
    const evalRng = this.rng.fork(`eval ${this.s.point}`);
    const metrics = await evaluate(model, env.data.dataset, env.data.splits, method.recipe, options, evalRng);
    const extra: Partial<ResultRow> = {};
    if (final) {
      for (const t of env.transfer) {
        const recipe = configureMethod(trial, t.dataset.imageShape).recipe;
        const m = await evaluate(
          model,
          t.dataset,
          t.splits,
          recipe,
          { ...options, bag: { ...bag, patches: [] }, authors: undefined },
          evalRng.fork(t.dataset.name),
        );
        for (const [k, v] of Object.entries(m)) metrics[`transfer.${t.dataset.name}.${k}`] = v;
      }
      extra.test_cost = await env.testCosts.measure(
        model,
        e.layer,
        side,
        bag.recipe.views[0].size,
        e.testCost.patches,
        e.testCost.throughputCrops,
      );
      if (authors) {
        const costs = await env.testCosts.measure(
          model,
          authors.layer,
          side,
          authors.recipe.views[0].size,
          [authors.patches],
          e.testCost.throughputCrops,
        );
        extra.test_cost.push(...costs.filter((c) => c.protocol !== 'single').map((c) => ({ ...c, protocol: 'authors' })));
      }
    }
    const evalSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const updates = model.updates?.take();
    if (updates && Object.keys(updates).length > 0) {
      extra.update_norms = updates;
      const peaks = Object.fromEntries(Object.entries(updates).map(([l, u]) => [l, u.max]));
      env.progress.log(`  ${trial.method.label} largest relative updates since the last point (max over steps): ${largest(peaks)}`);
    }
    const r = this.row('ok', final, metrics, evalSeconds, extra);
    this.write(r);
    const shown = ['knn20', 'linear', ...e.bag.patches.map((k) => `bag${k}_linear_mean`)]
      .filter((k) => k in metrics)
      .map((k) => `${k} ${(100 * metrics[k]).toFixed(1)}%`);
    env.progress.log(
      `  ${trial.method.label} ${(100 * r.fraction).toFixed(1)}% of budget: ${shown.join(', ')}  (eval ${formatSeconds(evalSeconds)})`,
    );
  }

  private row(status: TrialStatus, final: boolean, metrics: Record<string, number>, evalSeconds: number, extra: Partial<ResultRow> = {}) {
    const s = this.s;
    return buildRow(
      {
        runId: this.env.runId,
        trial: this.trial,
        role: this.method.role,
        images: this.images,
        crops: this.crops,
        point: s.point,
        counters: s.counters,
        inputWaitSeconds: s.inputWaitSeconds,
        loss: s.lossCount > 0 ? s.lossSum / s.lossCount : null,
        lr: this.model.learningRate(progress(s.counters, this.trial.budget)),
        memory: maxMemory(s.memory, this.env.memory.read()),
        origin: this.env.origin,
      },
      status,
      final,
      metrics,
      evalSeconds,
      extra,
    );
  }

  private write(r: ResultRow): void {
    appendRow(this.env.resultsFile, r);
    this.rows.push(r);
    this.s.lossSum = 0;
    this.s.lossCount = 0;
  }

  /**
   * A failed trial is a result and the run goes on: diverged (a NaN or exploding loss), oom, or error (any other
   * exception: a method that throws, a bad setting). The run's exit status reports errors (bench/bench.ts).
   */
  private recordFailure(e: unknown): void {
    // The disk failed, not the trial: the run stops, and --resume continues this trial from its checkpoint.
    if (e instanceof StorageError) throw e;
    const status: TrialStatus = e instanceof DivergedError ? 'diverged' : isOutOfMemory(e) ? 'oom' : 'error';
    const message = errorMessage(e);
    const hint = status === 'oom' ? ' (lower batchImages or views in the suite, or use a backend with more memory)' : '';
    const r = this.row(status, true, {}, 0, { error: `${message}${hint}` });
    this.write(r);
    this.env.progress.log(
      `  ${this.trial.method.label}: ${status} at ${(100 * progress(this.s.counters, this.trial.budget)).toFixed(1)}% of the budget: ${r.error}`,
    );
    // The stack is for whoever fixes it; the row keeps the message.
    if (status === 'error' && e instanceof Error && e.stack) this.env.progress.log(e.stack.split('\n').slice(1, 6).join('\n'));
    if (backendIsDead(e)) throw new BackendDeadError(message);
  }

  dispose(): void {
    try {
      this.model.dispose();
    } catch (e) {
      if (!backendIsDead(e)) throw e; // a dead wasm module cannot free its tensors either
    }
  }
}
