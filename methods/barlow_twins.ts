/**
 * Barlow Twins (Zbontar et al., 2021), lambda 0.0051, for any number of views N >= 2.
 *
 *   BT(a, b): a and b standardised per dimension over the batch (biased variance, eps 1e-5);
 *     c = a^T b / B;  BT = sum_i (1 - c_ii)^2 + lambda sum_{i != j} c_ij^2
 *   loss = mean over views i of BT(z_i, mean of the other views)
 *
 * With 2 views this is the paper's loss (BT(z1, z2) = BT(z2, z1): c is transposed). For more views each
 * view is matched to the mean of the others, as EMP-SSL matches each patch to its image's mean embedding;
 * the sources define 2 views only, so this extension is ours.
 */
import * as tf from '../engine/tf.js';
import { soloAsymmetric } from '../datasets/augment/recipes.js';
import { bilinearDepartures, withViews, type LossResult, type MethodConfig, type MethodDefinition } from './method.js';
import { ownDefaults, type OwnSettings } from './settings.js';
import { views } from '../engine/ops/embeddings.js';

export interface BarlowTwinsLossParams {
  lambd: number;
}

/**
 * scale_loss: solo-learn's CIFAR scale (barlow.yaml:21; the reference loss is unscaled). LARS adapts the weights'
 * steps, but biases and batch norm take the loss's raw scale.
 */
export const SETTINGS: OwnSettings = {
  lambd: {
    doc: 'Weight of the off-diagonal (redundancy) term.',
    default: 0.0051,
    source: 0.0051,
    min: 0,
    max: 1,
    search: { min: 1e-3, max: 2e-2, scale: 'log' },
  },
  scale_loss: {
    doc: 'Factor on the whole loss.',
    default: 0.1,
    source: 0.1,
    min: 1e-4,
    max: 10,
    search: { min: 0.025, max: 1, scale: 'log' },
  },
};

function standardise(v: tf.Tensor2D): tf.Tensor2D {
  const { mean, variance } = tf.moments(v, 0, true);
  return tf.div(tf.sub(v, mean), tf.sqrt(tf.add(variance, 1e-5))) as tf.Tensor2D;
}

function barlowTwins(a: tf.Tensor2D, b: tf.Tensor2D, lambd: number): { onDiagonal: tf.Scalar; offDiagonal: tf.Scalar; total: tf.Scalar } {
  const [n, d] = a.shape;
  const c = tf.div(tf.matMul(standardise(a), standardise(b), true, false), n);
  const eye = tf.eye(d);
  const onDiagonal = tf.sum(tf.square(tf.mul(tf.sub(c, 1), eye))) as tf.Scalar;
  const offDiagonal = tf.sum(tf.square(tf.mul(c, tf.sub(1, eye)))) as tf.Scalar;
  return { onDiagonal, offDiagonal, total: tf.add(onDiagonal, tf.mul(offDiagonal, lambd)) as tf.Scalar };
}

export function loss(
  { z }: { z: tf.Tensor },
  params: BarlowTwinsLossParams = ownDefaults(SETTINGS) as unknown as BarlowTwinsLossParams,
): LossResult {
  const vs = views(z);
  const n = vs.length;
  if (n < 2) throw new Error(`Barlow Twins' loss takes at least 2 views, got ${n}`);
  if (n === 2) {
    const r = barlowTwins(vs[0], vs[1], params.lambd);
    return { loss: r.total, terms: { on_diagonal: r.onDiagonal, off_diagonal: r.offDiagonal } };
  }
  const sum = tf.sum(z, 0);
  const parts = vs.map((v) => barlowTwins(v, tf.div(tf.sub(sum, v), n - 1) as tf.Tensor2D, params.lambd));
  const mean = (xs: tf.Scalar[]) => tf.div(tf.addN(xs), n) as tf.Scalar;
  return {
    loss: mean(parts.map((p) => p.total)),
    terms: { on_diagonal: mean(parts.map((p) => p.onDiagonal)), off_diagonal: mean(parts.map((p) => p.offDiagonal)) },
  };
}

/** The method: views, heads and optimizer defaults (sources in `source`). */
export function method(views?: number): MethodConfig {
  const recipe = withViews(soloAsymmetric(), views);
  return {
    name: 'barlow-twins',
    source: 'solo-learn cifar/barlow.yaml: projector 2048-2048-2048, lambda 0.0051, loss scale 0.1, LARS lr 0.3, wd 1e-4',
    recipe,
    projector: [2048, 2048, 2048],
    optimizer: { kind: 'lars', lr: 0.3, weightDecay: 1e-4, momentum: 0.9, eta: 0.02, clip: true, warmup: 0.01 },
    batchImages: 256,
    departures: bilinearDepartures(recipe),
    role: 'ssl',
    settings: SETTINGS,
    params: ownDefaults(SETTINGS),
    loss: ({ z }, { scale_loss, ...p }) => {
      const r = loss({ z }, p as unknown as BarlowTwinsLossParams);
      return { ...r, loss: tf.mul(r.loss, scale_loss) as tf.Scalar };
    },
  };
}

export const definition: MethodDefinition = {
  name: 'barlow-twins',
  make: method,
  referenceLoss: (i, p) => loss(i as { z: tf.Tensor }, p as unknown as BarlowTwinsLossParams),
};
