/**
 * BatchMatMul for the wasm backend with a fast path for transposed left operands.
 *
 * tfjs-backend-wasm 4.22 sends matmuls to XNNPACK's fully-connected operator only when the left operand
 * is not transposed; `transposeA` falls back to a naive loop (~0.7 GFLOP/s). Every linear layer's weight
 * gradient is such a product (dW = x^T dy), so we transpose `a` explicitly (a cheap copy) and call the
 * backend's own kernel on the fast path.
 */
import * as tf from '../tf.js';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '../tf.js';

const BACKEND = 'wasm';

/** tfjs's own BatchMatMul kernel, captured before anything replaces it. */
let stockKernel: tf.KernelConfig | undefined;

export function registerWasmMatMul(): void {
  stockKernel ??= tf.getKernel('BatchMatMul', BACKEND);
  if (!stockKernel) throw new Error('the wasm backend has no BatchMatMul kernel');
  const stock = stockKernel.kernelFunc;
  const transpose = tf.getKernel('Transpose', BACKEND)!.kernelFunc;

  const kernelFunc = ({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs?: NamedAttrMap }) => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    if (!transposeA) return stock({ inputs, backend, attrs });
    const rank = a.shape.length;
    const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
    const aT = transpose({ inputs: { x: a }, backend, attrs: { perm } }) as TensorInfo;
    try {
      return stock({ inputs: { a: aT, b }, backend, attrs: { transposeA: false, transposeB } as unknown as NamedAttrMap });
    } finally {
      backend.disposeData(aT.dataId);
    }
  };
  tf.unregisterKernel('BatchMatMul', BACKEND);
  tf.registerKernel({ kernelName: 'BatchMatMul', backendName: BACKEND, setupFunc: stockKernel.setupFunc, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}
