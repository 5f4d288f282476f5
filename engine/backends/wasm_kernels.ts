/**
 * Replacing one of tfjs-backend-wasm's kernels with the project's own, keeping tfjs's as the fallback.
 * The stock kernel is captured the first time only, so registering twice never captures ours; its setup
 * still runs on backend start (it binds the wasm function the fallback calls).
 */
import * as tf from '../tf.js';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '../tf.js';

export const WASM = 'wasm';

export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs?: NamedAttrMap };

/** The parts of the wasm backend our kernels use: outputs made on its heap and views of tensors there. */
export interface WasmHeap {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

const stock = new Map<string, tf.KernelConfig>();

/** tfjs's own wasm kernel `name`, as it was before any replacement. */
export function stockWasmKernel(name: string): tf.KernelConfig {
  let config = stock.get(name);
  if (!config) {
    config = tf.getKernel(name, WASM);
    if (!config) throw new Error(`the wasm backend has no ${name} kernel to replace`);
    stock.set(name, config);
  }
  return config;
}

/** Registers `kernelFunc` as the wasm backend's `name`; it may call stockWasmKernel(name) as its fallback. */
export function replaceWasmKernel(name: string, kernelFunc: (args: KernelArgs) => TensorInfo): void {
  const own = stockWasmKernel(name);
  tf.unregisterKernel(name, WASM);
  tf.registerKernel({ kernelName: name, backendName: WASM, setupFunc: own.setupFunc, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}
