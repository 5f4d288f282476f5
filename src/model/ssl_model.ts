/**
 * The one training path every method runs through: backbone + heads (+ the method's own modules) on explicit
 * parameter trees; a step forwards each view block, asks the method for its loss, and updates. What a method
 * keeps beside the model (a momentum target, past embeddings) is its own state (`MethodState`, methods/method.ts),
 * consulted around each step; this file names no method. Augmented batches come in view-major
 * (datasets/augment/pipeline.ts).
 */
import type { AugmentedBatch } from '../../datasets/augment/pipeline.js';
import { mlpHead } from '../../engine/nn/mlp.js';
import type { ForwardContext, Module } from '../../engine/nn/module.js';
import { disposeModel, initModel, type ModelState } from '../../engine/nn/params.js';
import { makeBackbone, type Backbone } from '../../engine/nn/resnet.js';
import { forwardCost, trainingFlops } from '../../engine/flops.js';
import { Lars } from '../../engine/optim/lars.js';
import type { Optimizer } from '../../engine/optim/optimizer.js';
import { warmupCosine } from '../../engine/optim/schedule.js';
import { Sgd } from '../../engine/optim/sgd.js';
import * as tf from '../../engine/tf.js';
import { evalContext, trainStep } from '../../engine/train/step.js';
import type { LossInputs, MethodConfig, MethodState, ModelAccess } from '../../methods/method.js';
import { UpdateNormTracker } from './update_norms.js';

const STEPS_COUNTER = 'model_steps';
/** Where the method's own checkpointed tensors and counters go. */
const METHOD_PREFIX = 'method';

/** The loss stopped being a finite number: the run records the trial as diverged and goes on. */
export class DivergedError extends Error {}

export class SslModel {
  readonly backbone: Backbone;
  readonly projector: Module;
  readonly predictor: Module | null;
  /** The method's own trainable modules (e.g. a matrix its loss reads). */
  readonly extraModules: Module[];
  readonly state: ModelState;
  /** What the method keeps beside the model for this trial (checkpointed with it). */
  private readonly methodState: MethodState;
  private readonly optimizer: Optimizer;
  /** Optimizer steps taken (checkpointed), for the warm-up's step floor. */
  private stepsTaken = 0;
  /** Per-layer update sizes, when asked for (`trackUpdates`). */
  readonly updates: UpdateNormTracker | null;

  /**
   * `inChannels`: the images' channels (the stem's input); `classes`: the dataset's class count, which a
   * method trained on labels (`method.labels`) appends to its projector as the classifier's output;
   * `trackUpdates`: record each step's relative update per layer (`updates`).
   */
  constructor(
    readonly method: MethodConfig,
    backbone: string,
    seed: number,
    { inChannels = 3, classes = 0, trackUpdates = false }: { inChannels?: number; classes?: number; trackUpdates?: boolean } = {},
  ) {
    this.updates = trackUpdates ? new UpdateNormTracker() : null;
    this.backbone = makeBackbone(backbone, inChannels);
    if (method.labels && !(classes > 1)) throw new Error(`${method.name} trains on labels: give the model the dataset's class count`);
    const proj = [this.backbone.featureDim, ...method.projector, ...(method.labels ? [classes] : [])];
    this.projector = mlpHead('projector', proj, { hiddenBatchNorm: method.projectorBatchNorm ?? true });
    const embedDim = proj[proj.length - 1];
    this.predictor = method.predictor ? mlpHead('predictor', [embedDim, ...method.predictor]) : null;
    this.extraModules = method.hooks?.modules?.(embedDim, method.params) ?? [];
    const modules = [this.backbone, this.projector, this.predictor, ...this.extraModules].filter((m): m is Module => m !== null);
    this.state = initModel(modules, seed);
    const access: ModelAccess = {
      state: this.state,
      embedDim,
      seed,
      projectWith: (tree, inputs, images) => this.projectWith(tree, inputs, images),
    };
    this.methodState = method.hooks?.createState?.(access, method.params) ?? {};
    const o = method.optimizer;
    this.optimizer =
      o.kind === 'lars'
        ? new Lars(this.state.specs, {
            momentum: o.momentum,
            nesterov: o.nesterov,
            weightDecay: o.weightDecay,
            eta: o.eta,
            clip: o.clip,
            stepScales: o.stepScales,
          })
        : new Sgd(this.state.specs, { momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay, stepScales: o.stepScales });
  }

  /**
   * Runs `f` on a view-major block of crops, either at once or one view of `images` crops at a time
   * (so batch norm sees each view as its own batch, as solo-learn's per-view forward does).
   */
  private perView(x: tf.Tensor, images: number, f: (x: tf.Tensor) => tf.Tensor): tf.Tensor {
    if (this.method.jointBatchNorm || x.shape[0] === images) return f(x);
    return tf.concat(tf.split(x, x.shape[0] / images, 0).map(f), 0);
  }

  /** Backbone then projector for one block of crops [N, S, S, C]. */
  private project(x: tf.Tensor, ctx: ForwardContext, images: number): tf.Tensor {
    return this.perView(x, images, (v) => this.projector.forward(this.backbone.forward(v, ctx), ctx));
  }

  /** [views * images, D] -> [views, images, D] */
  private byView(blocks: tf.Tensor[], images: number): tf.Tensor {
    const all = blocks.length === 1 ? blocks[0] : tf.concat(blocks, 0);
    return tf.reshape(all, [all.shape[0] / images, images, all.shape[1]!]);
  }

  /** Another parameter tree's projections of the view blocks: batch statistics, no gradient, buffer updates dropped. */
  private projectWith(tree: ModelState, inputs: tf.Tensor[], images: number): tf.Tensor {
    const ctx: ForwardContext = { ...evalContext(tree), training: true };
    const z = tf.tidy(() =>
      this.byView(
        inputs.map((x) => this.project(x, ctx, images)),
        images,
      ),
    );
    tf.dispose([...ctx.bufferUpdates.values()]);
    return z;
  }

  /**
   * One optimisation step; `progress` in [0, 1] drives the learning rate and the method's schedules. `labels`
   * (one per image) only for a method trained on them. Returns the loss.
   */
  async step(batch: AugmentedBatch, images: number, progress: number, labels?: Int32Array): Promise<number> {
    const lr = this.learningRate(progress);
    const inputs = batch.views.map((v) => tf.tensor4d(v.data, v.shape));
    const labelTensor = this.method.labels ? tf.tensor1d(labels!, 'int32') : undefined;
    const hooks = this.methodState;
    const context = { progress, inputs, images };
    let before = this.updates?.snapshot(this.state.params);
    let made: Partial<LossInputs> = {};
    let projections: tf.Tensor | undefined;
    try {
      made = hooks.beforeStep?.(context) ?? {};
      const loss = trainStep(
        this.state,
        this.optimizer,
        lr,
        (ctx) => {
          const z = this.byView(
            inputs.map((x) => this.project(x, ctx, images)),
            images,
          );
          const predictor = this.predictor;
          const p = predictor
            ? this.byView([this.perView(tf.reshape(z, [-1, z.shape[2]!]), images, (v) => predictor.forward(v, ctx))], images)
            : undefined;
          if (hooks.afterStep) projections = tf.keep(tf.clone(z));
          return this.method.loss({ ...made, z, p, labels: labelTensor, weights: ctx.params }, this.method.params).loss;
        },
        hooks.frozen?.(progress),
      );
      const [value] = await loss.data();
      loss.dispose();
      if (!Number.isFinite(value)) {
        const culprits = this.updates
          ? `; largest relative updates in the step before: ${this.updates.largestLast()}`
          : '; --log-updates names the layers whose updates ran away';
        throw new DivergedError(
          `${this.method.name}: the loss became ${value} at progress ${progress.toFixed(3)}; lower the learning rate (${lr.toExponential(2)} now)${culprits}`,
        );
      }
      const snapshot = before;
      before = undefined;
      if (snapshot) await this.updates!.record(snapshot, this.state.params);
      if (projections) hooks.afterStep!({ ...context, z: projections, made });
      this.stepsTaken++;
      return value;
    } finally {
      tf.dispose(inputs);
      tf.dispose(Object.values(made).filter((t): t is tf.Tensor => t !== undefined));
      projections?.dispose();
      labelTensor?.dispose();
      if (before) tf.dispose(Object.values(before));
    }
  }

  /**
   * Warm-up then cosine decay over budget progress in [0, 1], for the next step; with `warmupSteps`, also
   * ramped over the first optimizer steps.
   */
  learningRate(progress: number): number {
    const { lr, warmup = 0, warmupSteps = 0 } = this.method.optimizer;
    const floor = warmupSteps > 0 ? Math.min(1, (this.stepsTaken + 1) / warmupSteps) : 1;
    return warmupCosine(progress, { base: lr, warmup }) * floor;
  }

  /**
   * Training FLOPs of one step (src/flops.ts rule) for `images` images cut into the recipe's views:
   * backbone + projector (+ predictor) back-propagated for every crop, the method's forward-only copies
   * (a momentum target) once per crop each, plus the loss's own FLOPs where the method reports them.
   */
  stepFlops(images: number): number {
    const online: Module[] = [this.backbone, this.projector];
    const backprop = this.method.recipe.views.map((v) => ({
      flopsPerCrop: forwardCost(online, [v.size, v.size, this.backbone.inChannels]).flops,
      crops: v.count * images,
    }));
    const crops = this.method.recipe.views.reduce((n, v) => n + v.count * images, 0);
    const embed = this.projector.trace([this.backbone.featureDim], []);
    if (this.predictor) backprop.push({ flopsPerCrop: forwardCost([this.predictor], embed).flops, crops });
    const copies = this.method.hooks?.forwardOnlyCopies ?? 0;
    const forwardOnly = Array.from({ length: copies }, () => backprop.slice(0, this.method.recipe.views.length)).flat();
    const views = this.method.recipe.views.reduce((n, v) => n + v.count, 0);
    return trainingFlops({ backprop, forwardOnly, lossFlops: this.method.lossFlops?.(views, images, embed[0]) ?? 0 });
  }

  /** Everything a checkpoint needs to continue training exactly: parameters, buffers, optimizer and the method's state. */
  checkpointState(): { tensors: Record<string, tf.Tensor>; counters: Record<string, number> } {
    const tensors: Record<string, tf.Tensor> = {};
    const add = (prefix: string, tree: Record<string, tf.Tensor>) => {
      for (const [k, v] of Object.entries(tree)) tensors[`${prefix}/${k}`] = v;
    };
    add('params', this.state.params);
    add('buffers', this.state.buffers);
    const opt = this.optimizer.state();
    add('optimizer', opt.tensors);
    const own = this.methodState.checkpoint?.() ?? { tensors: {}, counters: {} };
    add(METHOD_PREFIX, own.tensors);
    const counters: Record<string, number> = { ...opt.counters, [STEPS_COUNTER]: this.stepsTaken };
    for (const [k, v] of Object.entries(own.counters)) counters[`${METHOD_PREFIX}/${k}`] = v;
    return { tensors, counters };
  }

  restoreCheckpoint(tensors: Record<string, tf.Tensor>, counters: Record<string, number>): void {
    const take = (prefix: string, tree: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(tree)
          .filter(([k]) => k.startsWith(`${prefix}/`))
          .map(([k, v]) => [k.slice(prefix.length + 1), v]),
      );
    const assign = (tree: Record<string, tf.Variable>, values: Record<string, tf.Tensor>, what: string) => {
      for (const [k, v] of Object.entries(tree)) {
        if (!values[k]) throw new Error(`checkpoint has no ${what} "${k}" (it was written by a different model)`);
        // A variable assigned to itself would drop its only reference to its data first.
        if (values[k] !== v) v.assign(values[k]);
      }
    };
    assign(this.state.params, take('params', tensors) as Record<string, tf.Tensor>, 'parameter');
    assign(this.state.buffers, take('buffers', tensors) as Record<string, tf.Tensor>, 'buffer');
    this.methodState.restore?.(
      take(METHOD_PREFIX, tensors) as Record<string, tf.Tensor>,
      take(METHOD_PREFIX, counters) as Record<string, number>,
    );
    const optimizerCounters = Object.fromEntries(
      Object.entries(counters).filter(([k]) => k !== STEPS_COUNTER && !k.startsWith(`${METHOD_PREFIX}/`)),
    );
    this.stepsTaken = counters[STEPS_COUNTER] ?? 0;
    this.optimizer.restore({ tensors: take('optimizer', tensors) as Record<string, tf.Tensor>, counters: optimizerCounters });
  }

  dispose(): void {
    this.optimizer.dispose();
    disposeModel(this.state);
    this.methodState.dispose?.();
  }
}
