/**
 * SimCLR's NT-Xent (Chen et al., 2020; solo-learn's multi-view form), temperature 0.2 (solo-learn CIFAR).
 *
 *   z: [V views, B images, D], rows L2-normalised, s_ak = z_a . z_k / T over all N = V B anchors;
 *   loss = mean_a -log( sum_{p: same image, p != a} exp(s_ap) / sum_{k != a} exp(s_ak) )
 */
import * as tf from '../engine/tf.js';
import { soloSymmetric } from '../datasets/augment/recipes.js';
import { bilinearDepartures, withViews, type LossResult, type MethodConfig, type MethodDefinition } from './method.js';
import { ownDefaults, type OwnSettings } from './settings.js';
import { normalizeRows } from '../engine/ops/embeddings.js';

export interface SimClrLossParams {
  temperature: number;
}

export const SETTINGS: OwnSettings = {
  temperature: {
    doc: 'Softmax temperature of NT-Xent.',
    default: 0.2,
    source: 0.2,
    min: 0.01,
    max: 2,
    search: { min: 0.05, max: 1, scale: 'log' },
  },
};

export function loss({ z }: { z: tf.Tensor }, params: SimClrLossParams = ownDefaults(SETTINGS) as unknown as SimClrLossParams): LossResult {
  const [v, b, d] = z.shape;
  const n = v * b;
  const flat = normalizeRows(tf.reshape(z, [n, d])) as tf.Tensor2D;
  const sim = tf.div(tf.matMul(flat, flat, false, true), params.temperature);
  const image = Int32Array.from({ length: n }, (_, a) => a % b);
  const positives = new Float32Array(n * n);
  const others = new Float32Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let k = 0; k < n; k++) {
      if (k === a) continue;
      others[a * n + k] = 1;
      if (image[k] === image[a]) positives[a * n + k] = 1;
    }
  }
  // Subtract each row's maximum before exponentiating (the ratio is unchanged).
  const shifted = tf.sub(sim, tf.max(sim, 1, true));
  const e = tf.exp(shifted);
  const num = tf.sum(tf.mul(e, tf.tensor2d(positives, [n, n])), 1);
  const den = tf.sum(tf.mul(e, tf.tensor2d(others, [n, n])), 1);
  return { loss: tf.neg(tf.mean(tf.log(tf.div(num, den)))) as tf.Scalar, terms: {} };
}

/** The method: views, heads and optimizer defaults (sources in `source`). */
export function method(views?: number): MethodConfig {
  const recipe = withViews(soloSymmetric(2), views);
  return {
    name: 'simclr',
    source:
      'solo-learn cifar/simclr.yaml: temperature 0.2, projector 2048-256 without batch norm, symmetric augmentations, LARS lr 0.4, wd 1e-4, batch 256',
    recipe,
    projector: [2048, 256],
    projectorBatchNorm: false,
    optimizer: { kind: 'lars', lr: 0.4, weightDecay: 1e-4, momentum: 0.9, eta: 0.02, clip: true, warmup: 0.01 },
    batchImages: 256,
    departures: bilinearDepartures(recipe),
    role: 'ssl',
    settings: SETTINGS,
    params: ownDefaults(SETTINGS),
    loss: ({ z }, p) => loss({ z }, p as unknown as SimClrLossParams),
  };
}

export const definition: MethodDefinition = {
  name: 'simclr',
  make: method,
  referenceLoss: (i, p) => loss(i as { z: tf.Tensor }, p as unknown as SimClrLossParams),
};
