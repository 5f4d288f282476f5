/**
 * Identity on the wasm backend without a copy. tfjs clones every tensor an op saves for its backward pass
 * (engine.clone -> the Identity kernel), and tfjs-backend-wasm 4.22's Identity copies the bytes: 299 copies of
 * activations per resnet-small SimCLR step, 8 % of the step. Tensors are immutable (a Variable's assign swaps
 * its data, it does not write into it), so the clone can share the data by reference count, as the wasm
 * Reshape kernel and the cpu backend's Identity already do.
 */
import * as tf from '../tf.js';
import type { KernelBackend, TensorInfo } from '../tf.js';

const BACKEND = 'wasm';

interface RefCounted {
  incRef(dataId: object): void;
}

/** tfjs's own kernel, captured before the first replacement (registering twice must not capture ours). */
let stock: tf.KernelConfig | undefined;

export function registerWasmSharedIdentity(): void {
  stock ??= tf.getKernel('Identity', BACKEND);
  if (!stock) throw new Error('the wasm backend has no Identity kernel to replace');
  const own = stock;
  const identity = ({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend }) => {
    const x = inputs.x as TensorInfo;
    // Strings live outside the heap; keep tfjs's own path for them.
    if (x.dtype === 'string') return own.kernelFunc({ inputs, backend, attrs: {} }) as TensorInfo;
    (backend as unknown as RefCounted).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  tf.unregisterKernel('Identity', BACKEND);
  tf.registerKernel({ kernelName: 'Identity', backendName: BACKEND, kernelFunc: identity as unknown as tf.KernelFunc });
}
