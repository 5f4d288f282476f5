/**
 * A method as data: its views (augmentation recipe), heads and loss, with defaults cited from their
 * sources. One training path (src/model/ssl_model.ts) runs them all; only the loss and the heads differ.
 */
import type { Recipe } from '../datasets/augment/recipes.js';
import type * as tf from '../engine/tf.js';

export interface LossResult {
  loss: tf.Scalar;
  /** Named parts of the loss (unweighted), and other outputs worth checking (e.g. SwAV's codes). */
  terms: Record<string, tf.Tensor>;
}

/** A loss in the reference files' form (../shared/reference/losses): named input tensors and parameters in. */
export type ReferenceLoss = (inputs: Record<string, tf.Tensor>, params: Record<string, number>) => LossResult;

/** What the registry holds for one method: its name, its defaults, and its loss in reference form. */
export interface MethodDefinition {
  name: string;
  /** The method's defaults, with `views` views of its first view spec when given ("SimCLR with 20 patches"). */
  make(views?: number): MethodConfig;
  /** Checked by `selfcheck` against the reference file of the same method name; absent for ablations. */
  referenceLoss?: ReferenceLoss;
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
}

export interface MethodConfig {
  name: string;
  /** Where the defaults come from. */
  source: string;
  recipe: Recipe;
  /** Projector layer sizes after the backbone's feature size (Linear-BN-ReLU hidden layers). */
  projector: number[];
  /** BYOL's predictor sizes after the projector output. */
  predictor?: number[];
  /** SwAV's prototype count. */
  prototypes?: number;
  /** BYOL's EMA target momentum, cosine from start to end over the budget. */
  ema?: { start: number; end: number };
  optimizer: OptimizerConfig;
  batchImages: number;
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
  /** The loss's own forward FLOPs for a step of `views` views of `images` images embedded in `dim` (omitted: negligible). */
  lossFlops?(views: number, images: number, dim: number): number;
  /**
   * The loss from the step's outputs, each [views, images, dim]: `z` projections (online), `p`
   * predictions, `zt` target projections, and `prototypes` [K, dim].
   */
  loss(out: { z: tf.Tensor; p?: tf.Tensor; zt?: tf.Tensor; prototypes?: tf.Tensor; labels?: tf.Tensor }): LossResult;
}

/** `recipe` with its first view spec drawn `views` times (the "views" setting), or unchanged. */
export function withViews(recipe: Recipe, views?: number): Recipe {
  if (views === undefined) return recipe;
  if (!Number.isInteger(views) || views < 2) throw new Error(`views must be an integer >= 2, got ${views}`);
  const [first, ...rest] = recipe.views;
  return { ...recipe, name: `${recipe.name}-x${views}`, views: [{ ...first, count: views }, ...rest] };
}
