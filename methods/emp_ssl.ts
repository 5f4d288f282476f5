/**
 * EMP-SSL (Tong et al., 2023, official code): total coding rate of each patch set plus invariance of
 * every patch to the mean embedding of its image.
 *
 *   z: [n patches, b images, d], rows L2-normalised;
 *   tcr = -(1/n) sum_i 0.5 logdet(I_d + d/(b eps) Z_i^T Z_i)      (eps 0.2 unsquared, as the code has it)
 *   invariance = -(1/n) sum_i mean_j cos(z_ij, mean_i' z_i'j)
 *   loss = lambda_inv * invariance + lambda_tcr * tcr
 *
 * The log-determinant is taken in the smaller of b and d (Sylvester: det(I_d + c Z^T Z) = det(I_b + c Z Z^T)).
 */
import * as tf from '../engine/tf.js';
import { empSslPatches } from '../datasets/augment/recipes.js';
import { withViews, type LossResult, type MethodConfig, type MethodDefinition } from './method.js';
import { ownDefaults, type OwnSettings } from './settings.js';
import { logdet, logdetFlops } from '../engine/ops/logdet.js';
import { normalizeRows } from '../engine/ops/embeddings.js';

export interface EmpSslLossParams {
  eps: number;
  lambda_inv: number;
  lambda_tcr: number;
}

export const SETTINGS: OwnSettings = {
  eps: {
    doc: "The coding rate's distortion (unsquared, as the code has it).",
    default: 0.2,
    source: 0.2,
    min: 1e-3,
    max: 10,
    search: { min: 0.05, max: 1, scale: 'log' },
  },
  lambda_inv: {
    doc: 'Weight of the invariance term.',
    default: 200,
    source: 200,
    min: 0,
    max: 1e4,
    search: { min: 20, max: 1000, scale: 'log' },
  },
  lambda_tcr: { doc: 'Weight of the total coding rate.', default: 1, source: 1, min: 0, max: 100 },
};

export function loss({ z }: { z: tf.Tensor }, params: EmpSslLossParams = ownDefaults(SETTINGS) as unknown as EmpSslLossParams): LossResult {
  const [, b, d] = z.shape;
  const zn = normalizeRows(z); // [n, b, d]
  const c = d / (b * params.eps);
  // Gram matrices in the smaller dimension: [n, b, b] (Z Z^T) or [n, d, d] (Z^T Z).
  const small = Math.min(b, d);
  const gram = b <= d ? tf.matMul(zn, zn, false, true) : tf.matMul(zn, zn, true, false);
  const a = tf.add(tf.eye(small), tf.mul(gram, c));
  const tcr = tf.neg(tf.mean(tf.mul(logdet(a), 0.5))) as tf.Scalar;
  const mean = tf.mean(zn, 0, true); // [1, b, d]
  const cos = tf.sum(tf.mul(zn, normalizeRows(mean)), -1); // [n, b]
  const invariance = tf.neg(tf.mean(cos)) as tf.Scalar;
  const total = tf.add(tf.mul(invariance, params.lambda_inv), tf.mul(tcr, params.lambda_tcr)) as tf.Scalar;
  return { loss: total, terms: { tcr, invariance } };
}

/** The method: views, heads and optimizer defaults (sources in `source`). */
export function method(views?: number): MethodConfig {
  return {
    name: 'emp-ssl',
    source: 'EMP-SSL official code (CIFAR): 20 patches, projector 512-4096-4096-1024, LARS-SGD lr 0.3 Nesterov, wd 1e-4, batch 100',
    recipe: withViews(empSslPatches(20), views),
    projector: [4096, 4096, 1024],
    optimizer: { kind: 'lars', lr: 0.3, weightDecay: 1e-4, momentum: 0.9, nesterov: true, eta: 0.005, clip: true },
    batchImages: 100,
    lrScaling: 'none',
    departures: {
      'augmentations[0].num_crops': "20 patches, as the README's commands and the paper's table (main.py's default is 100)",
    },
    role: 'ssl',
    jointBatchNorm: true,
    // Gram matrices (n of [m, m] from [m, k]) and their log-determinants, m = min(images, dim).
    lossFlops: (n, b, d) => 2 * n * Math.min(b, d) ** 2 * Math.max(b, d) + logdetFlops(n, Math.min(b, d)),
    settings: SETTINGS,
    params: ownDefaults(SETTINGS),
    loss: ({ z }, p) => loss({ z }, p as unknown as EmpSslLossParams),
  };
}

export const definition: MethodDefinition = {
  name: 'emp-ssl',
  make: method,
  referenceLoss: (i, p) => loss(i as { z: tf.Tensor }, p as unknown as EmpSslLossParams),
};
