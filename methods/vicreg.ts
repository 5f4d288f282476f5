/**
 * VICReg (Bardes et al., 2022; solo-learn weights 25/25/1).
 *
 *   z: [2, B, D];  invariance = MSE(z_1, z_2)
 *   variance = mean over views of mean_d relu(1 - sqrt(var_unbiased + 1e-4))
 *   covariance = sum over views of sum_{i != j} cov_unbiased_ij^2 / D
 *   loss = sim_w * invariance + var_w * variance + cov_w * covariance
 */
import * as tf from '../engine/tf.js';
import { soloLearnCifar } from '../datasets/augment/recipes.js';
import { withViews, type LossResult, type MethodConfig, type MethodDefinition } from './method.js';
import { views } from '../engine/ops/embeddings.js';

export interface VicRegLossParams {
  sim_w: number;
  var_w: number;
  cov_w: number;
}

export const VICREG_DEFAULTS: VicRegLossParams = { sim_w: 25, var_w: 25, cov_w: 1 };

export function loss({ z }: { z: tf.Tensor }, params: VicRegLossParams = VICREG_DEFAULTS): LossResult {
  const vs = views(z);
  if (vs.length !== 2) throw new Error(`VICReg's loss takes 2 views, got ${vs.length}`);
  const [b, d] = vs[0].shape;
  const invariance = tf.mean(tf.squaredDifference(vs[0], vs[1])) as tf.Scalar;
  let variance: tf.Tensor = tf.scalar(0);
  let covariance: tf.Tensor = tf.scalar(0);
  const offDiagonal = tf.sub(1, tf.eye(d));
  for (const v of vs) {
    const centered = tf.sub(v, tf.mean(v, 0, true));
    const varUnbiased = tf.div(tf.sum(tf.square(centered), 0), b - 1);
    variance = tf.add(variance, tf.mean(tf.relu(tf.sub(1, tf.sqrt(tf.add(varUnbiased, 1e-4))))));
    const cov = tf.div(tf.matMul(centered, centered, true, false), b - 1);
    covariance = tf.add(covariance, tf.div(tf.sum(tf.square(tf.mul(cov, offDiagonal))), d));
  }
  variance = tf.div(variance, vs.length);
  const total = tf.addN([tf.mul(invariance, params.sim_w), tf.mul(variance, params.var_w), tf.mul(covariance, params.cov_w)]) as tf.Scalar;
  return { loss: total, terms: { invariance, variance, covariance } };
}

/** The method: views, heads and optimizer defaults (sources in `source`). */
export function method(views?: number): MethodConfig {
  return {
    name: 'vicreg',
    source: 'solo-learn cifar/vicreg.yaml: projector 2048-2048-2048, weights 25/25/1, LARS lr 0.3, wd 1e-4',
    recipe: withViews(soloLearnCifar(2), views),
    projector: [2048, 2048, 2048],
    optimizer: { kind: 'lars', lr: 0.3, weightDecay: 1e-4, momentum: 0.9, eta: 0.02, clip: true, warmup: 0.01 },
    batchImages: 256,
    role: 'ssl',
    loss: ({ z }) => loss({ z }),
  };
}

export const definition: MethodDefinition = {
  name: 'vicreg',
  make: method,
  referenceLoss: (i, p) => loss(i as { z: tf.Tensor }, { ...VICREG_DEFAULTS, ...p }),
};
