/**
 * Barlow Twins (Zbontar et al., 2021), lambda 0.0051.
 *
 *   z: [2, B, D]; each view standardised per dimension over the batch (biased variance, eps 1e-5);
 *   c = z1n^T z2n / B;  loss = sum_i (1 - c_ii)^2 + lambda sum_{i != j} c_ij^2
 */
import * as tf from '../engine/tf.js';
import { soloLearnCifar } from '../datasets/augment/recipes.js';
import { withViews, type LossResult, type MethodConfig, type MethodDefinition } from './method.js';
import { views } from '../engine/ops/embeddings.js';

export interface BarlowTwinsLossParams {
  lambd: number;
}

/** The CIFAR loss scale of solo-learn's config (the reference loss in ../shared/reference is unscaled). */
export const SCALE_LOSS = 0.1;

export const BARLOW_TWINS_DEFAULTS: BarlowTwinsLossParams = { lambd: 0.0051 };

function standardise(v: tf.Tensor2D): tf.Tensor2D {
  const { mean, variance } = tf.moments(v, 0, true);
  return tf.div(tf.sub(v, mean), tf.sqrt(tf.add(variance, 1e-5))) as tf.Tensor2D;
}

export function loss({ z }: { z: tf.Tensor }, params: BarlowTwinsLossParams = BARLOW_TWINS_DEFAULTS): LossResult {
  const vs = views(z);
  if (vs.length !== 2) throw new Error(`Barlow Twins' loss takes 2 views, got ${vs.length}`);
  const [b, d] = vs[0].shape;
  const c = tf.div(tf.matMul(standardise(vs[0]), standardise(vs[1]), true, false), b);
  const eye = tf.eye(d);
  const onDiagonal = tf.sum(tf.square(tf.mul(tf.sub(c, 1), eye))) as tf.Scalar;
  const offDiagonal = tf.sum(tf.square(tf.mul(c, tf.sub(1, eye)))) as tf.Scalar;
  return {
    loss: tf.add(onDiagonal, tf.mul(offDiagonal, params.lambd)) as tf.Scalar,
    terms: { on_diagonal: onDiagonal, off_diagonal: offDiagonal },
  };
}

/** The method: views, heads and optimizer defaults (sources in `source`). */
export function method(views?: number): MethodConfig {
  return {
    name: 'barlow-twins',
    source: 'solo-learn cifar/barlow.yaml: projector 2048-2048-2048, lambda 0.0051, loss scale 0.1, LARS lr 0.3, wd 1e-4',
    recipe: withViews(soloLearnCifar(2), views),
    projector: [2048, 2048, 2048],
    optimizer: { kind: 'lars', lr: 0.3, weightDecay: 1e-4, momentum: 0.9, eta: 0.02, clip: true, warmup: 0.01 },
    batchImages: 256,
    role: 'ssl',
    // solo-learn's CIFAR scale_loss (barlow.yaml:21): LARS adapts the weights' steps, but biases and batch
    // norm take the loss's raw scale.
    loss: ({ z }) => {
      const r = loss({ z });
      return { ...r, loss: tf.mul(r.loss, SCALE_LOSS) as tf.Scalar };
    },
  };
}

export const definition: MethodDefinition = {
  name: 'barlow-twins',
  make: method,
  referenceLoss: (i, p) => loss(i as { z: tf.Tensor }, { ...BARLOW_TWINS_DEFAULTS, ...p }),
};
