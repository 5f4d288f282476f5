/** Tensor helpers for embeddings: row normalisation, splitting into views, stopping gradients. */
import * as tf from '../tf.js';
import { l2Norm } from './norm.js';

/** Rows scaled to unit L2 norm along the last axis (F.normalize, eps 1e-12). */
export function normalizeRows(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.maximum(l2Norm(x, -1, true), 1e-12));
}

/** Splits a [views, images, dim] tensor into its views. */
export function views(z: tf.Tensor): tf.Tensor2D[] {
  if (z.rank !== 3) throw new Error(`expected embeddings [views, images, dim], got shape [${z.shape}]`);
  return tf.unstack(z, 0) as tf.Tensor2D[];
}

/** The value of x with no gradient flowing back through it (tfjs has no stop_gradient). */
export const stopGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
