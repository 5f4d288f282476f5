/**
 * The one place the project imports TensorFlow.js from.
 *
 * tfjs-core's Node bundle ships no gradient definitions; the `@tensorflow/tfjs` union package registers
 * them (and the cpu backend) when loaded. Ops, types and the engine all come from the single tfjs-core
 * instance both resolve to.
 */
import '@tensorflow/tfjs';
import { type Tensor, type Variable, variable } from '@tensorflow/tfjs-core';

export * from '@tensorflow/tfjs-core';

/**
 * A variable that owns its value. tf.variable(t) shares t's data and leaves t alive: each call leaks one tensor,
 * whose data also outlives the variable (a long suite grew by a model's worth of tensors per trial). The
 * initial tensor, made for the variable, is disposed here.
 */
export function ownedVariable(initial: Tensor, trainable = true): Variable {
  const v = variable(initial, trainable);
  initial.dispose();
  return v;
}
