/**
 * A method as one file: its views (augmentation recipe), heads, loss, settings table and run-time state.
 * One training path (src/model/ssl_model.ts) runs them all; what is specific to a method (a momentum target,
 * a queue, prototypes) it brings through `hooks`, and its own settings through `settings` (methods/settings.ts
 * derives the suite schema, validation, overrides, departures and the tuner's search space from them).
 */
import type { Recipe } from '../datasets/augment/recipes.js';
import type { Module } from '../engine/nn/module.js';
import type { ModelState } from '../engine/nn/params.js';
import type * as tf from '../engine/tf.js';
import type { OwnSettings } from './settings.js';

export interface LossResult {
  loss: tf.Scalar;
  /** Named parts of the loss (unweighted), and other outputs worth checking (e.g. SwAV's codes). */
  terms: Record<string, tf.Tensor>;
}

/** A loss in the reference files' form (test/fixtures/reference/losses): named input tensors and parameters in. */
export type ReferenceLoss = (inputs: Record<string, tf.Tensor>, params: Record<string, number>) => LossResult;

/** What the registry holds for one method: its name, its defaults, and its loss in reference form. */
export interface MethodDefinition {
  name: string;
  /** The method's defaults, with `views` views of its first view spec when given ("SimCLR with 20 patches"). */
  make(views?: number): MethodConfig;
  /** Checked by `selfcheck` against the reference file of the same method name; absent for ablations. */
  referenceLoss?: ReferenceLoss;
}

/**
 * What a training step hands a method's loss: `z` the online projections [views, images, D], `p` the
 * predictions, `labels` one per image for a method trained on them, `weights` the differentiated parameter
 * tree (a loss that reads the method's own modules, e.g. SwAV's prototypes), and whatever the method's
 * state made before the step (`zt`: a momentum target's projections; `queue`: past embeddings).
 */
export interface LossInputs {
  z: tf.Tensor;
  p?: tf.Tensor;
  labels?: tf.Tensor;
  weights: Record<string, tf.Tensor>;
  zt?: tf.Tensor;
  queue?: tf.Tensor;
}

/** What the shared model lends a method's run-time state. */
export interface ModelAccess {
  /** The online network's parameters and buffers. */
  readonly state: ModelState;
  /** Width of the projector's output (what the loss compares). */
  readonly embedDim: number;
  /** The trial's seed, for state drawn at random (a queue's first keys). */
  readonly seed: number;
  /**
   * Backbone + projector of another parameter tree (a momentum target) on the step's view blocks, with batch
   * statistics, outside the gradient, its buffer updates dropped: [views, images, D].
   */
  projectWith(tree: ModelState, inputs: tf.Tensor[], images: number): tf.Tensor;
}

export interface StepContext {
  /** Budget progress in [0, 1] of this step. */
  progress: number;
  /** The step's view blocks [crops, S, S, C], view-major. */
  inputs: tf.Tensor[];
  images: number;
}

/**
 * A method's state beside the shared model for one trial, made with the model and consulted around every step.
 * Tensors returned by `beforeStep` belong to the model, which disposes of them after `afterStep`.
 */
export interface MethodState {
  /** Loss inputs made before the step, outside the gradient (a target's projections, a queue's contents). */
  beforeStep?(step: StepContext): Partial<Pick<LossInputs, 'zt' | 'queue'>>;
  /** Parameter names that get no update at this progress. */
  frozen?(progress: number): ReadonlySet<string> | undefined;
  /** After the optimizer step: the step's projections `z` (before the update) and what `beforeStep` made. */
  afterStep?(step: StepContext & { z: tf.Tensor; made: Partial<LossInputs> }): void;
  /** Tensors and counters a checkpoint keeps (the model prefixes their names). */
  checkpoint?(): { tensors: Record<string, tf.Tensor>; counters: Record<string, number> };
  restore?(tensors: Record<string, tf.Tensor>, counters: Record<string, number>): void;
  dispose?(): void;
}

export interface MethodHooks {
  /** Trainable modules beyond backbone, projector and predictor (SwAV's prototypes), for an embedding width. */
  modules?(embedDim: number, params: Record<string, number>): Module[];
  /** The trial's state, made once the parameters are initialised. */
  createState?(model: ModelAccess, params: Record<string, number>): MethodState;
  /** Copies of backbone + projector that run forward only on every crop each step (a momentum target), for FLOPs. */
  forwardOnlyCopies?: number;
}

export type MethodRole = 'ssl' | 'floor' | 'ceiling';

export interface OptimizerConfig {
  kind: 'lars' | 'sgd';
  lr: number;
  weightDecay: number;
  momentum: number;
  nesterov?: boolean;
  /** LARS trust coefficient and clipping. */
  eta?: number;
  clip?: boolean;
  warmup?: number;
  /**
   * The warm-up lasts at least this many optimizer steps: the learning rate is also scaled by
   * min(1, step / warmupSteps), so a short time budget's warm-up is not a handful of updates.
   */
  warmupSteps?: number;
  /** Step multipliers by top-level module (e.g. { predictor: 10 }: the predictor's steps 10x the rest's). */
  stepScales?: Record<string, number>;
}

export interface MethodConfig {
  name: string;
  /** Where the defaults come from. */
  source: string;
  recipe: Recipe;
  /** Projector layer sizes after the backbone's feature size (Linear-BN-ReLU hidden layers). */
  projector: number[];
  /** false: the projector's hidden layers have no batch norm (Linear-ReLU, as solo-learn's SimCLR head). Default true. */
  projectorBatchNorm?: boolean;
  /** Predictor sizes after the projector output (BYOL's head on the online branch). */
  predictor?: number[];
  optimizer: OptimizerConfig;
  batchImages: number;
  /**
   * How the learning rate follows a batch size other than `batchImages`: `linear` (lr x batch / batchImages,
   * solo-learn's rule; the default) or `none` (EMP-SSL's code uses its rate at any batch size).
   */
  lrScaling?: 'linear' | 'none';
  /**
   * Where these defaults knowingly differ from the source's CIFAR settings (../shared/reference/baselines.json):
   * the table's field -> why, one line each. test/baselines_config.test.ts fails on a difference not listed here,
   * and reports list them under the accounting rules.
   */
  departures?: Record<string, string>;
  /**
   * What the method is in a comparison: an SSL method, the untrained floor (`random-init`: evaluated,
   * never trained) or the supervised ceiling. Reports read it from the result rows.
   */
  role: MethodRole;
  /** Trained on the labels: the runner passes each image's label and appends the class count to the projector. */
  labels?: boolean;
  /**
   * Batch norm over all views of a step at once (EMP-SSL's code concatenates its patches); otherwise each
   * view is forwarded as its own batch, as solo-learn does for the baselines.
   */
  jointBatchNorm?: boolean;
  /**
   * The method's own settings (loss constants, target momentum, queue, prototypes...): default, source value,
   * valid range and search range of each, declared once in the method's file.
   */
  settings: OwnSettings;
  /** The values of `settings` this trial runs with (defaults, then the suite's overrides); `loss` and `hooks` read them. */
  params: Record<string, number>;
  /** What the method keeps beside the shared model (a momentum target, a queue, prototypes). */
  hooks?: MethodHooks;
  /** The loss's own forward FLOPs for a step of `views` views of `images` images embedded in `dim` (omitted: negligible). */
  lossFlops?(views: number, images: number, dim: number): number;
  /** The loss from the step's outputs (`LossInputs`), each [views, images, dim]; `params` as above. */
  loss(out: LossInputs, params: Record<string, number>): LossResult;
}

/**
 * The departure every solo-learn recipe has: crops are resized bilinearly (datasets/augment/ops.ts, one
 * resampler for all methods, as torchvision's default), where solo-learn asks for bicubic.
 */
export function bilinearDepartures(recipe: Recipe): Record<string, string> {
  return Object.fromEntries(
    recipe.views.map((_, i) => [
      `augmentations[${i}].interpolation`,
      'crops resized bilinearly, one resampler for every method (solo-learn: bicubic)',
    ]),
  );
}

/**
 * `recipe` with `views` large views (the "views" setting), or unchanged. The large views are those of the
 * leading specs with the first spec's size; an asymmetric pair (BYOL's two groups) shares them out in turn,
 * so 20 views are 10 of each group. Later specs (SwAV's small crops) are unchanged.
 */
export function withViews(recipe: Recipe, views?: number): Recipe {
  if (views === undefined) return recipe;
  if (!Number.isInteger(views) || views < 2) throw new Error(`views must be an integer >= 2, got ${views}`);
  const size = recipe.views[0].size;
  let groups = recipe.views.findIndex((v) => v.size !== size);
  if (groups === -1) groups = recipe.views.length;
  const counted = recipe.views.map((v, i) => (i < groups ? { ...v, count: Math.floor(views / groups) + (i < views % groups ? 1 : 0) } : v));
  return { ...recipe, name: `${recipe.name}-x${views}`, views: counted.filter((v) => v.count > 0) };
}
