/**
 * VICReg (Bardes et al., 2022; solo-learn weights 25/25/1), for any number of views N >= 2.
 *
 *   z: [N, B, D];  invariance = mean over view pairs i < j of MSE(z_i, z_j)
 *                             = 2/(N-1) sum_i MSE(z_i, mean view)   (the same sum, in O(N))
 *   variance = mean over views of mean_d relu(1 - sqrt(var_unbiased + 1e-4))
 *   covariance = 2/N x sum over views of sum_{i != j} cov_unbiased_ij^2 / D
 *   loss = sim_w * invariance + var_w * variance + cov_w * covariance
 *
 * With 2 views this is solo-learn's loss (covariance summed over the two views). For more views (the
 * multi-crop baselines EMP-SSL's reviewers asked for) the invariance covers every pair of views and the
 * regularisers keep the 2-view scale; the sources define 2 views only, so this extension is ours.
 */
import * as tf from '../engine/tf.js';
import { soloVicReg } from '../datasets/augment/recipes.js';
import { bilinearDepartures, withViews, type LossResult, type MethodConfig, type MethodDefinition } from './method.js';
import { ownDefaults, type OwnSettings } from './settings.js';
import { views } from '../engine/ops/embeddings.js';

export interface VicRegLossParams {
  sim_w: number;
  var_w: number;
  cov_w: number;
}

/**
 * solo-learn sums the variance term over the two views (vicreg.yaml / losses/vicreg.py); the loss above
 * averages it over views (the VICReg authors' code, the shared reference), so twice its weight is the same loss.
 */
export const SETTINGS: OwnSettings = {
  sim_w: { doc: 'Weight of the invariance term.', default: 25, source: 25, min: 0, max: 1000, search: { min: 5, max: 50, scale: 'log' } },
  var_w: {
    doc: 'Weight of the variance term (averaged over views).',
    default: 50,
    source: 50,
    min: 0,
    max: 1000,
    search: { min: 10, max: 100, scale: 'log' },
  },
  cov_w: { doc: 'Weight of the covariance term.', default: 1, source: 1, min: 0, max: 100 },
};

export function loss({ z }: { z: tf.Tensor }, params: VicRegLossParams = ownDefaults(SETTINGS) as unknown as VicRegLossParams): LossResult {
  const vs = views(z);
  const n = vs.length;
  if (n < 2) throw new Error(`VICReg's loss takes at least 2 views, got ${n}`);
  const [b, d] = vs[0].shape;
  // Two views: the pairwise MSE itself (fewer float32 roundings than the mean-view form).
  // tf.square(tf.sub(...)): tfjs 4.22's squaredDifference gradient does not reduce a broadcast operand.
  const invariance = (
    n === 2 ? tf.mean(tf.squaredDifference(vs[0], vs[1])) : tf.mul(tf.mean(tf.square(tf.sub(z, tf.mean(z, 0, true)))), (2 * n) / (n - 1))
  ) as tf.Scalar;
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
  variance = tf.div(variance, n);
  covariance = tf.mul(covariance, 2 / n);
  const total = tf.addN([tf.mul(invariance, params.sim_w), tf.mul(variance, params.var_w), tf.mul(covariance, params.cov_w)]) as tf.Scalar;
  return { loss: total, terms: { invariance, variance, covariance } };
}

/** The method: views, heads and optimizer defaults (sources in `source`). */
export function method(views?: number): MethodConfig {
  const recipe = withViews(soloVicReg(2), views);
  return {
    name: 'vicreg',
    source: 'solo-learn cifar/vicreg.yaml: projector 2048-2048-2048, weights 25/25/1, LARS lr 0.3, wd 1e-4',
    recipe,
    projector: [2048, 2048, 2048],
    optimizer: { kind: 'lars', lr: 0.3, weightDecay: 1e-4, momentum: 0.9, eta: 0.02, clip: true, warmup: 0.01 },
    batchImages: 256,
    departures: bilinearDepartures(recipe),
    role: 'ssl',
    settings: SETTINGS,
    params: ownDefaults(SETTINGS),
    loss: ({ z }, p) => loss({ z }, p as unknown as VicRegLossParams),
  };
}

export const definition: MethodDefinition = {
  name: 'vicreg',
  make: method,
  referenceLoss: (i, p) => loss(i as { z: tf.Tensor }, p as unknown as VicRegLossParams),
};
