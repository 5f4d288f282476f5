/**
 * Identity on the wasm backend without a copy. tfjs clones every tensor an op saves for its backward pass
 * (engine.clone -> the Identity kernel), and tfjs-backend-wasm 4.22's Identity copies the bytes: 299 copies of
 * activations per resnet-small SimCLR step, 8 % of the step. Tensors are immutable (a Variable's assign swaps
 * its data, it does not write into it), so the clone can share the data by reference count, as the wasm
 * Reshape kernel and the cpu backend's Identity already do.
 */
import type { TensorInfo } from '../tf.js';
import { replaceWasmKernel, stockWasmKernel } from './wasm_kernels.js';

interface RefCounted {
  incRef(dataId: object): void;
}

export function registerWasmSharedIdentity(): void {
  replaceWasmKernel('Identity', (args) => {
    const x = args.inputs.x as TensorInfo;
    // Strings live outside the heap; keep tfjs's own path for them.
    if (x.dtype === 'string') return stockWasmKernel('Identity').kernelFunc(args) as TensorInfo;
    (args.backend as unknown as RefCounted).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
}
