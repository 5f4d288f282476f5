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
 * Runs `loss` on a training context, updates parameters (all but those named in `frozen`) and running
 * statistics, and returns the loss (a scalar tensor the caller owns; read it with `await loss.data()` to
 * synchronise the device).
 */
export function trainStep(
  state: ModelState,
  optimizer: Optimizer,
  lr: number,
  loss: (ctx: ForwardContext) => tf.Scalar,
  frozen?: ReadonlySet<string>,
): tf.Scalar {
  return trainStepAccumulated(state, optimizer, lr, 1, (ctx) => loss(ctx), frozen);
}

/**
 * One optimizer step from `chunks` micro-batches: gradients of each chunk's loss are averaged, so a
 * per-chunk mean loss gives the gradient of the mean over all chunks. Batch norm sees each chunk on
 * its own (as data-parallel training without synchronised BN does), and its running statistics are
 * updated once per chunk. This is how a large crop count fits in the wasm backend's 4 GB heap: tfjs
 * keeps every activation and every intermediate gradient of a backward pass until the pass ends.
 * Returns the mean loss.
 */
export function trainStepAccumulated(
  state: ModelState,
  optimizer: Optimizer,
  lr: number,
  chunks: number,
  loss: (ctx: ForwardContext, chunk: number) => tf.Scalar,
  frozen?: ReadonlySet<string>,
): tf.Scalar {
  // Frozen parameters get no gradient, so the optimizer leaves them (and their momentum) untouched.
  const names = Object.keys(state.params).filter((n) => !frozen?.has(n));
  const vars = names.map((n) => state.params[n]);
  let total: tf.NamedTensorMap | null = null;
  let lossSum = tf.scalar(0);
  for (let chunk = 0; chunk < chunks; chunk++) {
    const ctx = trainingContext(state);
    const { value, grads } = tf.variableGrads(() => loss(ctx, chunk), vars);
    const byParam: tf.NamedTensorMap = {};
    for (const n of names) {
      const g = grads[state.params[n].name];
      if (g) byParam[n] = g;
    }
    if (total === null) {
      total = byParam;
    } else {
      for (const n of Object.keys(byParam)) {
        const sum = tf.add(total[n], byParam[n]);
        tf.dispose([total[n], byParam[n]]);
        total[n] = sum;
      }
    }
    const nextSum = tf.add(lossSum, value);
    tf.dispose([lossSum, value]);
    lossSum = nextSum as tf.Scalar;
    applyBufferUpdates(state, ctx.bufferUpdates);
  }
  if (chunks > 1) {
    for (const n of Object.keys(total!)) {
      const mean = tf.div(total![n], chunks);
      total![n].dispose();
      total![n] = mean;
    }
  }
  // A step at rate 0 (the first of a warm-up from 0) leaves the optimizer alone. Momentum would still take the
  // gradient into its buffer, and LARS's clipped trust ratio (min(r / lr, 1) at lr 0) leaves it unscaled there,
  // so the next step would apply it at a positive rate outside the trust ratio's bound (seen: one conv's weights
  // moved by 98 % of their norm in one step of a Barlow Twins warm-up).
  if (lr > 0) optimizer.step(state.params, total!, lr);
  tf.dispose(Object.values(total!));
  const meanLoss = tf.div(lossSum, chunks) as tf.Scalar;
  lossSum.dispose();
  return meanLoss;
}
