/**
 * Native oneDNN kernels on the wasm backend's memory (optional; see native/).
 *
 * The wasm backend keeps every tensor in one WebAssembly.Memory; a Float32Array view of a tensor's bytes
 * is handed to the addon, which runs oneDNN's convolutions and matmuls on it in place, on `threads`
 * OpenMP threads. Everything else (batch norm, ReLU, optimizer arithmetic) stays on wasm. When the
 * addon is absent or fails to load, the plain wasm kernels stay registered and the reason is reported.
 */
import { createRequire } from 'node:module';
import * as tf from '../tf.js';
import { backend_util, type KernelBackend, type NamedAttrMap, type TensorInfo } from '../tf.js';

const BACKEND = 'wasm';

interface OneDnnAddon {
  conv2d(x: Float32Array, filter: Float32Array, y: Float32Array, params: Int32Array): void;
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, dx: Float32Array, params: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, params: Int32Array): void;
  matMul(a: Float32Array, b: Float32Array, c: Float32Array, bias: Float32Array | null, params: Int32Array): void;
  batchNormForward(
    x: Float32Array,
    scale: Float32Array,
    shift: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    params: Int32Array,
    eps: number,
  ): void;
  batchNormBackward(
    dy: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    scale: Float32Array,
    dx: Float32Array,
    dscale: Float32Array,
    dshift: Float32Array,
    params: Int32Array,
    eps: number,
  ): void;
  /** Absent in an addon built before it existed (then wasm's own FusedBatchNorm stays). */
  batchNormInference?(
    x: Float32Array,
    scale: Float32Array,
    shift: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    y: Float32Array,
    params: Int32Array,
    eps: number,
  ): void;
  setThreads(n: number): void;
  threads(): number;
  version(): string;
}

interface WasmHeap {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

export type OneDnnStatus = { loaded: true; version: string; threads: number } | { loaded: false; reason: string };

/** Sets the OpenMP thread count and reports what is in use. */
export function configureOneDnn(addon: OneDnnAddon, threads: number): OneDnnStatus {
  addon.setThreads(threads);
  return { loaded: true, version: addon.version(), threads: addon.threads() };
}

/** Loads the addon; never throws. `SSL_BENCH_NO_NATIVE=1` disables it (to compare or to debug). */
export function loadOneDnn(threads: number): { addon: OneDnnAddon | null; status: OneDnnStatus } {
  if (process.env.SSL_BENCH_NO_NATIVE === '1')
    return { addon: null, status: { loaded: false, reason: 'disabled by SSL_BENCH_NO_NATIVE=1' } };
  try {
    const require = createRequire(import.meta.url);
    const addon = require('ssl-budget-bench-native') as OneDnnAddon;
    return { addon, status: configureOneDnn(addon, threads) };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    const reason = /Cannot find module/.test(msg)
      ? 'native addon not built (apt-get install libdnnl-dev, then npm ci)'
      : `native addon failed to load: ${msg}`;
    return { addon: null, status: { loaded: false, reason } };
  }
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs?: NamedAttrMap };

function convParams(info: backend_util.Conv2DInfo): Int32Array {
  const p = info.padInfo;
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.outChannels,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    p.top,
    p.bottom,
    p.left,
    p.right,
  ]);
}

function convInfo(xShape: number[], filterShape: number[], attrs: NamedAttrMap): backend_util.Conv2DInfo {
  const { strides, pad, dimRoundingMode, dataFormat, dilations } = attrs as unknown as tf.Conv2DAttrs;
  if (dataFormat !== undefined && dataFormat !== 'NHWC') throw new Error(`oneDNN kernels support NHWC only, got ${dataFormat}`);
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) throw new Error('oneDNN kernels: dilated convolutions are not wired up');
  return info;
}

/** The kernels these replace, captured at the first registration, for fallbacks and for switching back. */
const replaced = new Map<string, tf.KernelConfig>();

/**
 * Training-mode batch norm as two kernels of our own (tfjs has none): forward returns [y, mean, biased
 * variance]; backward takes (dy, x, mean, variance, scale) and returns [dx, dscale, dshift].
 * src/nn/layers.ts uses them when they are registered for the current backend.
 */
export const BATCH_NORM_TRAIN = 'SslBenchBatchNormTrain';
export const BATCH_NORM_GRAD = 'SslBenchBatchNormGrad';

/** Registers Conv2D, both convolution gradients, BatchMatMul / _FusedMatMul and batch norm on the wasm backend. */
export function registerOneDnnKernels(addon: OneDnnAddon): void {
  const heapOf = (backend: KernelBackend) => backend as unknown as WasmHeap;

  const conv2d = ({ inputs, backend, attrs }: KernelArgs) => {
    const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
    const info = convInfo(x.shape, filter.shape, attrs!);
    const heap = heapOf(backend);
    const y = heap.makeOutput(info.outShape, 'float32');
    addon.conv2d(heap.typedArrayFromHeap(x), heap.typedArrayFromHeap(filter), heap.typedArrayFromHeap(y), convParams(info));
    return y;
  };

  const backpropInput = ({ inputs, backend, attrs }: KernelArgs) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const { inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const info = convInfo(inputShape, filter.shape, attrs!);
    const heap = heapOf(backend);
    const dx = heap.makeOutput(inputShape, 'float32');
    addon.conv2dBackpropInput(heap.typedArrayFromHeap(dy), heap.typedArrayFromHeap(filter), heap.typedArrayFromHeap(dx), convParams(info));
    return dx;
  };

  const backpropFilter = ({ inputs, backend, attrs }: KernelArgs) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const { filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const info = convInfo(x.shape, filterShape, attrs!);
    const heap = heapOf(backend);
    const dw = heap.makeOutput(filterShape, 'float32');
    addon.conv2dBackpropFilter(heap.typedArrayFromHeap(x), heap.typedArrayFromHeap(dy), heap.typedArrayFromHeap(dw), convParams(info));
    return dw;
  };

  const matMul = (
    a: TensorInfo,
    b: TensorInfo,
    transposeA: boolean,
    transposeB: boolean,
    bias: TensorInfo | undefined,
    backend: KernelBackend,
  ) => {
    const ra = a.shape.length;
    const rb = b.shape.length;
    const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
    if (k !== kb)
      throw new Error(`matMul: inner sizes differ (${a.shape} x ${b.shape}, transposeA=${transposeA}, transposeB=${transposeB})`);
    const batchA = a.shape.slice(0, -2).reduce((s, d) => s * d, 1);
    const batchB = b.shape.slice(0, -2).reduce((s, d) => s * d, 1);
    if (batchA !== batchB && batchA !== 1 && batchB !== 1) throw new Error(`matMul: batch sizes ${batchA} and ${batchB} do not broadcast`);
    if (bias && bias.shape.length > 1 && bias.shape.slice(0, -1).some((d) => d !== 1))
      throw new Error('matMul: only a per-column bias is supported');
    const outer = (batchA >= batchB ? a.shape : b.shape).slice(0, -2);
    const heap = heapOf(backend);
    const out = heap.makeOutput([...outer, m, n], 'float32');
    const biasView = bias ? heap.typedArrayFromHeap(bias) : null;
    addon.matMul(
      heap.typedArrayFromHeap(a),
      heap.typedArrayFromHeap(b),
      heap.typedArrayFromHeap(out),
      biasView,
      Int32Array.from([batchA, batchB, m, k, n, transposeA ? 1 : 0, transposeB ? 1 : 0, bias ? 1 : 0]),
    );
    return out;
  };

  const batchMatMul = ({ inputs, backend, attrs }: KernelArgs) => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    return matMul(a, b, transposeA, transposeB, undefined, backend);
  };

  const fusedMatMul = (args: KernelArgs) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const { transposeA, transposeB, activation } = args.attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
      activation?: string;
    };
    // Activations other than none are left to the kernel this replaced.
    if ((activation && activation !== 'linear') || preluActivationWeights || (bias && bias.shape.length !== 1)) {
      return replaced.get('_FusedMatMul')!.kernelFunc(args) as TensorInfo;
    }
    return matMul(a!, b!, transposeA, transposeB, bias, args.backend);
  };

  const batchNormTrain = ({ inputs, backend, attrs }: KernelArgs) => {
    const { x, scale, shift } = inputs as { x: TensorInfo; scale: TensorInfo; shift: TensorInfo };
    const channels = x.shape[x.shape.length - 1];
    const heap = heapOf(backend);
    const outs = [heap.makeOutput(x.shape, 'float32'), heap.makeOutput([channels], 'float32'), heap.makeOutput([channels], 'float32')];
    const [y, mean, variance] = outs.map((t) => heap.typedArrayFromHeap(t));
    const params = Int32Array.from([tf.util.sizeFromShape(x.shape) / channels, channels]);
    const h = (t: TensorInfo) => heap.typedArrayFromHeap(t);
    addon.batchNormForward(h(x), h(scale), h(shift), y, mean, variance, params, (attrs as { eps: number }).eps);
    return outs;
  };

  const batchNormGrad = ({ inputs, backend, attrs }: KernelArgs) => {
    const { dy, x, mean, variance, scale } = inputs as Record<string, TensorInfo>;
    const channels = x.shape[x.shape.length - 1];
    const heap = heapOf(backend);
    const outs = [heap.makeOutput(x.shape, 'float32'), heap.makeOutput([channels], 'float32'), heap.makeOutput([channels], 'float32')];
    const h = (t: TensorInfo) => heap.typedArrayFromHeap(t);
    const params = Int32Array.from([tf.util.sizeFromShape(x.shape) / channels, channels]);
    addon.batchNormBackward(
      h(dy),
      h(x),
      h(mean),
      h(variance),
      h(scale),
      h(outs[0]),
      h(outs[1]),
      h(outs[2]),
      params,
      (attrs as { eps: number }).eps,
    );
    return outs;
  };

  // Eval-mode batch norm (tf.batchNorm with running statistics): oneDNN when every input is a float32
  // per-channel vector, else the kernel this replaced.
  const fusedBatchNorm = (args: KernelArgs) => {
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, TensorInfo | undefined>;
    const channels = x!.shape[x!.shape.length - 1];
    const perChannel = [mean, variance, offset, scale].every(
      (t) => t && t.dtype === 'float32' && t.shape.length === 1 && t.shape[0] === channels,
    );
    if (!addon.batchNormInference || !perChannel || x!.dtype !== 'float32')
      return replaced.get('FusedBatchNorm')!.kernelFunc(args) as TensorInfo;
    const heap = heapOf(args.backend);
    const y = heap.makeOutput(x!.shape, 'float32');
    const h = (t: TensorInfo) => heap.typedArrayFromHeap(t);
    const params = Int32Array.from([tf.util.sizeFromShape(x!.shape) / channels, channels]);
    addon.batchNormInference(
      h(x!),
      h(scale!),
      h(offset!),
      h(mean!),
      h(variance!),
      h(y),
      params,
      (args.attrs as { varianceEpsilon: number }).varianceEpsilon,
    );
    return y;
  };

  for (const [kernelName, kernelFunc] of [
    [BATCH_NORM_TRAIN, batchNormTrain],
    [BATCH_NORM_GRAD, batchNormGrad],
  ] as const) {
    if (tf.getKernel(kernelName, BACKEND)) tf.unregisterKernel(kernelName, BACKEND);
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }

  const kernels: [string, (args: KernelArgs) => TensorInfo][] = [
    ['Conv2D', conv2d],
    ['Conv2DBackpropInput', backpropInput],
    ['Conv2DBackpropFilter', backpropFilter],
    ['BatchMatMul', batchMatMul],
    ['_FusedMatMul', fusedMatMul],
    ['FusedBatchNorm', fusedBatchNorm],
  ];
  for (const [kernelName, kernelFunc] of kernels) {
    const previous = tf.getKernel(kernelName, BACKEND);
    if (!previous) throw new Error(`the wasm backend has no ${kernelName} kernel to replace`);
    if (!replaced.has(kernelName)) replaced.set(kernelName, previous);
    tf.unregisterKernel(kernelName, BACKEND);
    tf.registerKernel({
      kernelName,
      backendName: BACKEND,
      setupFunc: previous.setupFunc,
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    });
  }
}

/** Puts back the kernels registerOneDnnKernels replaced and removes its own (no-op if it never ran). */
export function unregisterOneDnnKernels(): void {
  for (const kernelName of [BATCH_NORM_TRAIN, BATCH_NORM_GRAD]) {
    if (tf.getKernel(kernelName, BACKEND)) tf.unregisterKernel(kernelName, BACKEND);
  }
  for (const [kernelName, config] of replaced) {
    tf.unregisterKernel(kernelName, BACKEND);
    tf.registerKernel(config);
  }
}
