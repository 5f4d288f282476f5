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

/** What a training step hands a method's loss. */
export interface LossInputs {
  z: tf.Tensor;
  p?: tf.Tensor;
  zt?: tf.Tensor;
  prototypes?: tf.Tensor;
  queue?: tf.Tensor;
  labels?: tf.Tensor;
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
  /** BYOL's predictor sizes after the projector output. */
  predictor?: number[];
  /** SwAV's prototype count. */
  prototypes?: number;
  /** SwAV's prototypes get no updates while budget progress is below this fraction. */
  freezePrototypes?: number;
  /**
   * SwAV's queue: the normalised embeddings of the first `views` views of the last `size` images (newest
   * first), filled from the first step, passed to the loss once progress reaches `start`.
   */
  queue?: { size: number; views: number; start: number };
  /** BYOL's EMA target momentum, cosine from start to end over the budget. */
  ema?: { start: number; end: number };
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
   * The loss's parameters (temperatures, term weights, loss scale), the sources' values by default; a suite's
   * `loss` setting overrides some of them by name. The runner passes them to `loss`.
   */
  lossParams: Record<string, number>;
  /** The loss's own forward FLOPs for a step of `views` views of `images` images embedded in `dim` (omitted: negligible). */
  lossFlops?(views: number, images: number, dim: number): number;
  /**
   * The loss from the step's outputs, each [views, images, dim]: `z` projections (online), `p`
   * predictions, `zt` target projections, `prototypes` [K, dim] and SwAV's `queue` [views, filled, dim];
   * `params` are `lossParams` with the suite's overrides.
   */
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
