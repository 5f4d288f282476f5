/**
 * Matmul fixes for the wasm backend (tfjs-backend-wasm 4.22):
 *  - BatchMatMul sends products to XNNPACK's fully-connected operator only when neither operand is
 *    transposed; `transposeA` falls back to a naive loop (~0.7 GFLOP/s), `transposeB` to one nearly as slow
 *    (dy W^T, [256 x 256] x [2048 x 256]^T: 92 ms, 8 ms with W^T made first). Every linear layer's weight
 *    gradient (dW = x^T dy) and input gradient (dx = dy W^T) is such a product, and so is a similarity
 *    matrix z z^T, so we transpose either operand explicitly (a cheap copy) first.
 *  - _FusedMatMul adds the bias along the wrong axis when an operand is transposed or the product is
 *    batched; we transpose explicitly, and compute batched products as a product plus a broadcast add.
 */
import * as tf from '../tf.js';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '../tf.js';
import { type KernelArgs, replaceWasmKernel, stockWasmKernel, WASM } from './wasm_kernels.js';

function swapLastAxes(x: TensorInfo, backend: KernelBackend): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
  return tf.getKernel('Transpose', WASM)!.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
}

/** Calls `kernel` with the operands flagged in `which` transposed explicitly, and those flags cleared. */
function withExplicitTransposes(kernel: tf.KernelFunc, args: KernelArgs, which: { a: boolean; b: boolean }): TensorInfo {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const temps: TensorInfo[] = [];
  const aIn = which.a ? temps[temps.push(swapLastAxes(a, args.backend)) - 1] : a;
  const bIn = which.b ? temps[temps.push(swapLastAxes(b, args.backend)) - 1] : b;
  try {
    return kernel({
      inputs: { ...args.inputs, a: aIn, b: bIn },
      backend: args.backend,
      attrs: {
        ...args.attrs,
        transposeA: attrs.transposeA && !which.a,
        transposeB: attrs.transposeB && !which.b,
      } as unknown as NamedAttrMap,
    }) as TensorInfo;
  } finally {
    for (const t of temps) args.backend.disposeData(t.dataId);
  }
}

export function registerWasmMatMul(): void {
  const batchMatMul = (args: KernelArgs) => {
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    return withExplicitTransposes(
      stockWasmKernel('BatchMatMul').kernelFunc,
      { ...args, inputs: { a, b } },
      { a: transposeA, b: transposeB },
    );
  };
  const fusedMatMul = (args: KernelArgs) => {
    const { transposeA, transposeB, activation } = args.attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
      activation?: string;
    };
    const { a, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const plain = (!activation || activation === 'linear') && !preluActivationWeights;
    if (a!.shape.length > 2 && plain) {
      // Batched: the stock kernel mis-broadcasts the bias here too; a product plus a broadcast add is exact.
      const product = batchMatMul({ ...args, attrs: { transposeA, transposeB } as unknown as NamedAttrMap });
      if (!bias) return product;
      try {
        return tf.getKernel('Add', WASM)!.kernelFunc({ inputs: { a: product, b: bias }, backend: args.backend, attrs: {} }) as TensorInfo;
      } finally {
        args.backend.disposeData(product.dataId);
      }
    }
    return withExplicitTransposes(stockWasmKernel('_FusedMatMul').kernelFunc, args, { a: transposeA, b: transposeB });
  };
  replaceWasmKernel('BatchMatMul', batchMatMul);
  replaceWasmKernel('_FusedMatMul', fusedMatMul);
}
