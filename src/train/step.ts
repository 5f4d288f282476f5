/**
 * One optimisation step over explicit parameter trees: forward in training mode, gradients of the loss
 * with respect to every trainable parameter, optimizer update, then the new batch-norm statistics.
 */
import * as tf from '../tf.js';
import type { ForwardContext } from '../nn/module.js';
import { applyBufferUpdates, type ModelState } from '../nn/params.js';
import type { Optimizer } from '../optim/optimizer.js';

export function trainingContext(state: ModelState): ForwardContext {
  return { params: state.params, buffers: state.buffers, training: true, bufferUpdates: new Map() };
}

export function evalContext(state: ModelState): ForwardContext {
  return { params: state.params, buffers: state.buffers, training: false, bufferUpdates: new Map() };
}

/**
 * Runs `loss` on a training context, updates parameters and running statistics, and returns the loss
 * (a scalar tensor the caller owns; read it with `await loss.data()` to synchronise the device).
 */
export function trainStep(state: ModelState, optimizer: Optimizer, lr: number, loss: (ctx: ForwardContext) => tf.Scalar): tf.Scalar {
  const ctx = trainingContext(state);
  const names = Object.keys(state.params);
  const { value, grads } = tf.variableGrads(() => loss(ctx), names.map((n) => state.params[n]));
  const byParam: tf.NamedTensorMap = {};
  for (const n of names) {
    const g = grads[state.params[n].name];
    if (g) byParam[n] = g;
  }
  optimizer.step(state.params, byParam, lr);
  tf.dispose(grads);
  applyBufferUpdates(state, ctx.bufferUpdates);
  return value;
}
