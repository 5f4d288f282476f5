/**
 * The Euclidean norm as sqrt(sum(x^2)). tf.norm computes it as sqrt(sum(pow(|x|, 2))), and the wasm
 * backend's Pow is a slow elementwise kernel: on LARS's per-parameter norms it took 213 of a VICReg
 * step's 738 kernel milliseconds (resnet-small, 2048-wide projector, 64 images).
 */
import * as tf from '../tf.js';

export function l2Norm(x: tf.Tensor, axis?: number, keepDims = false): tf.Tensor {
  return tf.sqrt(tf.sum(tf.square(x), axis, keepDims));
}
