/**
 * The one training path every method runs through: backbone + heads (+ BYOL's EMA target, + SwAV's
 * prototypes) on explicit parameter trees; a step forwards each view block, asks the method for its
 * loss, and updates. Augmented batches come in view-major (datasets/augment/pipeline.ts).
 */
import type { AugmentedBatch } from '../../datasets/augment/pipeline.js';
import { mlpHead } from '../../engine/nn/mlp.js';
import { joinName, type BufferSpec, type ForwardContext, type LayerCost, type Module, type ParamSpec } from '../../engine/nn/module.js';
import { copyModel, disposeModel, emaUpdate, initModel, type ModelState } from '../../engine/nn/params.js';
import { makeBackbone, type Backbone } from '../../engine/nn/resnet.js';
import { forwardCost, trainingFlops } from '../../engine/flops.js';
import { Lars } from '../../engine/optim/lars.js';
import { normalizeRows } from '../../engine/ops/embeddings.js';
import { l2Norm } from '../../engine/ops/norm.js';
import type { Optimizer } from '../../engine/optim/optimizer.js';
import { cosineRamp, warmupCosine } from '../../engine/optim/schedule.js';
import { Sgd } from '../../engine/optim/sgd.js';
import * as tf from '../../engine/tf.js';
import { evalContext, trainStep } from '../../engine/train/step.js';
import type { MethodConfig } from '../../methods/method.js';
import { UpdateNormTracker } from './update_norms.js';

/** SwAV's prototype matrix as a parameter-only module (the loss reads it; its cost is the loss's). */
class Prototypes implements Module {
  constructor(
    readonly name: string,
    readonly count: number,
    readonly dim: number,
  ) {}
  params(): ParamSpec[] {
    return [
      {
        name: joinName(this.name, 'weight'),
        shape: [this.count, this.dim],
        group: 'weight',
        init: { kind: 'uniform', bound: 1 / Math.sqrt(this.dim) },
      },
    ];
  }
  buffers(): BufferSpec[] {
    return [];
  }
  forward(x: tf.Tensor): tf.Tensor {
    return x;
  }
  trace(inShape: number[], _costs: LayerCost[]): number[] {
    return inShape;
  }
}

const STEPS_COUNTER = 'model_steps';
const QUEUE = 'swav.queue';
const QUEUE_FILLED = 'swav_queue_filled';

/** The loss stopped being a finite number: the run records the trial as diverged and goes on. */
export class DivergedError extends Error {}

export class SslModel {
  readonly backbone: Backbone;
  readonly projector: Module;
  readonly predictor: Module | null;
  readonly prototypes: Prototypes | null;
  readonly state: ModelState;
  readonly target: ModelState | null;
  private readonly optimizer: Optimizer;
  /** Optimizer steps taken (checkpointed), for the warm-up's step floor. */
  private stepsTaken = 0;
  /** SwAV's queue [views, size, dim] and how many of its rows hold embeddings (both checkpointed). */
  private queue: tf.Tensor | null = null;
  private queueFilled = 0;
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
    const embed = proj[proj.length - 1];
    this.predictor = method.predictor ? mlpHead('predictor', [embed, ...method.predictor]) : null;
    this.prototypes = method.prototypes ? new Prototypes('prototypes', method.prototypes, embed) : null;
    const modules = [this.backbone, this.projector, this.predictor, this.prototypes].filter((m): m is Module => m !== null);
    this.state = initModel(modules, seed);
    if (this.prototypes) this.normalizePrototypes();
    if (method.queue) this.queue = tf.zeros([method.queue.views, method.queue.size, embed]);
    // BYOL's target: a copy of backbone + projector, moved by EMA only.
    this.target = method.ema ? copyModel(this.state) : null;
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

  /**
   * One optimisation step; `progress` in [0, 1] drives the learning rate and the EMA momentum. `labels`
   * (one per image) only for a method trained on them. Returns the loss.
   */
  async step(batch: AugmentedBatch, images: number, progress: number, labels?: Int32Array): Promise<number> {
    const lr = this.learningRate(progress);
    const inputs = batch.views.map((v) => tf.tensor4d(v.data, v.shape));
    const labelTensor = this.method.labels ? tf.tensor1d(labels!, 'int32') : undefined;
    let before = this.updates?.snapshot(this.state.params);
    try {
      let zt: tf.Tensor | undefined;
      if (this.target) {
        // The target runs outside the differentiated set, with batch statistics (as in train mode);
        // its running statistics follow the online network's by EMA, so its own updates are dropped.
        const ctx: ForwardContext = { ...evalContext(this.target), training: true };
        zt = tf.tidy(() =>
          this.byView(
            inputs.map((x) => this.project(x, ctx, images)),
            images,
          ),
        );
        tf.dispose([...ctx.bufferUpdates.values()]);
      }
      const q = this.method.queue;
      const queue =
        q && progress >= q.start && this.queueFilled > 0 ? tf.slice(this.queue!, [0, 0, 0], [-1, this.queueFilled, -1]) : undefined;
      let newest: tf.Tensor | undefined;
      const frozen =
        this.prototypes && progress < (this.method.freezePrototypes ?? 0) ? new Set([joinName(this.prototypes.name, 'weight')]) : undefined;
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
          const prototypes = this.prototypes ? ctx.params[joinName(this.prototypes.name, 'weight')] : undefined;
          if (q) newest = tf.keep(normalizeRows(tf.slice(z, [0, 0, 0], [q.views, -1, -1])));
          return this.method.loss({ z, p, zt, prototypes, queue, labels: labelTensor }, this.method.lossParams).loss;
        },
        frozen,
      );
      zt?.dispose();
      queue?.dispose();
      if (newest) this.pushQueue(newest);
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
      if (this.target) emaUpdate(this.target, this.state, cosineRamp(progress, this.method.ema!.start, this.method.ema!.end));
      if (this.prototypes) this.normalizePrototypes();
      this.stepsTaken++;
      return value;
    } finally {
      tf.dispose(inputs);
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
   * backbone + projector (+ predictor) back-propagated for every crop, BYOL's target forward only,
   * plus the loss's own FLOPs where the method reports them.
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
    const forwardOnly = this.target ? backprop.slice(0, this.method.recipe.views.length) : [];
    const views = this.method.recipe.views.reduce((n, v) => n + v.count, 0);
    return trainingFlops({ backprop, forwardOnly, lossFlops: this.method.lossFlops?.(views, images, embed[0]) ?? 0 });
  }

  /** Everything a checkpoint needs to continue training exactly: parameters, buffers, optimizer and target state. */
  checkpointState(): { tensors: Record<string, tf.Tensor>; counters: Record<string, number> } {
    const tensors: Record<string, tf.Tensor> = {};
    const add = (prefix: string, tree: Record<string, tf.Tensor>) => {
      for (const [k, v] of Object.entries(tree)) tensors[`${prefix}/${k}`] = v;
    };
    add('params', this.state.params);
    add('buffers', this.state.buffers);
    if (this.target) {
      add('target.params', this.target.params);
      add('target.buffers', this.target.buffers);
    }
    const opt = this.optimizer.state();
    add('optimizer', opt.tensors);
    if (this.queue) tensors[QUEUE] = this.queue;
    return { tensors, counters: { ...opt.counters, [STEPS_COUNTER]: this.stepsTaken, [QUEUE_FILLED]: this.queueFilled } };
  }

  restoreCheckpoint(tensors: Record<string, tf.Tensor>, counters: Record<string, number>): void {
    const take = (prefix: string) =>
      Object.fromEntries(
        Object.entries(tensors)
          .filter(([k]) => k.startsWith(`${prefix}/`))
          .map(([k, v]) => [k.slice(prefix.length + 1), v]),
      );
    const assign = (tree: Record<string, tf.Variable>, values: Record<string, tf.Tensor>, what: string) => {
      for (const [k, v] of Object.entries(tree)) {
        if (!values[k]) throw new Error(`checkpoint has no ${what} "${k}" (it was written by a different model)`);
        v.assign(values[k]);
      }
    };
    assign(this.state.params, take('params'), 'parameter');
    assign(this.state.buffers, take('buffers'), 'buffer');
    if (this.target) {
      assign(this.target.params, take('target.params'), 'target parameter');
      assign(this.target.buffers, take('target.buffers'), 'target buffer');
    }
    const { [STEPS_COUNTER]: steps = 0, [QUEUE_FILLED]: filled = 0, ...optimizerCounters } = counters;
    this.stepsTaken = steps;
    if (this.queue) {
      if (!tensors[QUEUE]) throw new Error('checkpoint has no SwAV queue (it was written by a different model)');
      this.queue.dispose();
      this.queue = tf.clone(tensors[QUEUE]);
      this.queueFilled = filled;
    }
    this.optimizer.restore({ tensors: take('optimizer'), counters: optimizerCounters });
  }

  /** Newest first, as solo-learn's queue (swav.py:229-232): the oldest rows fall off the end. */
  private pushQueue(newest: tf.Tensor): void {
    const size = this.method.queue!.size;
    const images = Math.min(newest.shape[1]!, size);
    const next = tf.tidy(() =>
      tf.concat([tf.slice(newest, [0, 0, 0], [-1, images, -1]), tf.slice(this.queue!, [0, 0, 0], [-1, size - images, -1])], 1),
    );
    tf.dispose([newest, this.queue!]);
    this.queue = next;
    this.queueFilled = Math.min(size, this.queueFilled + images);
  }

  /** SwAV keeps its prototypes on the unit sphere (solo-learn normalises them every step). */
  private normalizePrototypes(): void {
    const w = this.state.params[joinName(this.prototypes!.name, 'weight')];
    tf.tidy(() => w.assign(tf.div(w, l2Norm(w, 1, true))));
  }

  dispose(): void {
    this.optimizer.dispose();
    disposeModel(this.state);
    if (this.target) disposeModel(this.target);
    this.queue?.dispose();
  }
}
