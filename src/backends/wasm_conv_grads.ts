/**
 * Convolution gradients for the wasm backend, written as forward convolutions.
 *
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter and a slow Conv2DBackpropInput (~1.6 GFLOP/s),
 * while its forward Conv2D runs on XNNPACK at 10-25 GFLOP/s. Both gradients are forward convolutions
 * in disguise (NHWC input x, HWIO filter w, output gradient dy, stride s, top/left padding p):
 *
 *   dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s + kh - p, ow*s + kw - p, ci] * dy[n,oh,ow,co]
 *     = conv(input = x as [Ci, H, W, N], filter = dy as [OH, OW, N, Co], stride 1, dilation s)
 *       read back as [KH, KW, Ci, Co];
 *
 *   dX[n,h,w,ci] = sum_{kh,kw,co} dy_s[n, h + p - kh, w + p - kw, co] * w[kh,kw,ci,co]
 *     = conv(input = dy with s-1 zeros between its pixels, filter = w flipped in space with in/out swapped,
 *            stride 1, left padding K-1-p).
 *
 * The kernels below call the wasm backend's own kernels (Transpose, Reshape, PadV2, Slice, Conv2D)
 * and free every intermediate.
 */
import * as tf from '../tf.js';
import { backend_util, type KernelBackend, type NamedAttrMap, type TensorInfo } from '../tf.js';

const BACKEND = 'wasm';

function runKernel(name: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap, backend: KernelBackend): TensorInfo {
  const kernel = tf.getKernel(name, BACKEND);
  if (!kernel) throw new Error(`the ${BACKEND} backend has no ${name} kernel`);
  return kernel.kernelFunc({ inputs, attrs, backend }) as TensorInfo;
}

/** Runs `steps` in order, each producing a temporary, and frees every temporary but the last. */
class Temps {
  private readonly made: TensorInfo[] = [];
  constructor(readonly backend: KernelBackend) {}
  keep(t: TensorInfo): TensorInfo {
    this.made.push(t);
    return t;
  }
  run(name: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
    return this.keep(runKernel(name, inputs, attrs, this.backend));
  }
  /** Frees all temporaries except `result`. */
  release(result: TensorInfo): TensorInfo {
    for (const t of this.made) if (t !== result) this.backend.disposeData(t.dataId);
    return result;
  }
}

function convInfoFor(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: NamedAttrMap,
): backend_util.Conv2DInfo {
  const { strides, pad, dimRoundingMode, dataFormat } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`wasm convolution gradients support NHWC only, got dataFormat=${dataFormat}`);
  }
  return backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
}

function conv2dBackpropFilter({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs?: NamedAttrMap }): TensorInfo {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = convInfoFor(x.shape as [number, number, number, number], filterShape, attrs!);
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const [n, h, w, ci] = x.shape;
  const t = new Temps(backend);

  // Padding after the input so the output is exactly KH x KW; when negative, the last input rows
  // (or columns) never reach the forward output: crop them instead.
  let bottom = kh + (oh - 1) * sh - h - top;
  let right = kw + (ow - 1) * sw - w - left;
  let input = t.run('Transpose', { x }, { perm: [3, 1, 2, 0] }); // [Ci, H, W, N]
  if (bottom < 0 || right < 0) {
    const keepH = h + Math.min(bottom, 0);
    const keepW = w + Math.min(right, 0);
    input = t.run('Slice', { x: input }, { begin: [0, 0, 0, 0], size: [ci, keepH, keepW, n] });
    bottom = Math.max(bottom, 0);
    right = Math.max(right, 0);
  }
  const filter = t.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [OH, OW, N, Co]
  const conv = t.run(
    'Conv2D',
    { x: input, filter },
    {
      strides: [1, 1],
      dilations: [sh, sw],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      dataFormat: 'NHWC',
      dimRoundingMode: undefined as unknown as string,
    } as unknown as NamedAttrMap,
  ); // [Ci, KH, KW, Co]
  return t.release(t.run('Transpose', { x: conv }, { perm: [1, 2, 0, 3] }));
}

function conv2dBackpropInput({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs?: NamedAttrMap }): TensorInfo {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const info = convInfoFor(inputShape, filter.shape as [number, number, number, number], attrs!);
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const [n, h, w] = inputShape;
  const co = filter.shape[3];
  const t = new Temps(backend);

  // Spread dy apart by the stride: [N, OH, OW, C] -> [N, OH*sh, OW*sw, C] with zeros between pixels.
  let spread: TensorInfo = dy;
  let spreadH = oh;
  let spreadW = ow;
  if (sh > 1 || sw > 1) {
    const r = t.run('Reshape', { x: dy }, { shape: [n, oh, 1, ow, 1, co] });
    const padded = t.run('PadV2', { x: r }, {
      paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]],
      constantValue: 0,
    } as unknown as NamedAttrMap);
    spreadH = oh * sh;
    spreadW = ow * sw;
    spread = t.run('Reshape', { x: padded }, { shape: [n, spreadH, spreadW, co] });
  }
  // Padding after, so the output is exactly H x W; negative means trailing zeros of the spread to drop.
  let bottom = h + top - spreadH;
  let right = w + left - spreadW;
  if (bottom < 0 || right < 0) {
    spreadH += Math.min(bottom, 0);
    spreadW += Math.min(right, 0);
    spread = t.run('Slice', { x: spread }, { begin: [0, 0, 0, 0], size: [n, spreadH, spreadW, co] });
    bottom = Math.max(bottom, 0);
    right = Math.max(right, 0);
  }
  const swapped = t.run('Reshape', { x: flippedSwapped(t, filter) }, { shape: [kh, kw, co, filter.shape[2]] }); // [KH, KW, Co, Ci]
  const dx = t.run(
    'Conv2D',
    { x: spread, filter: swapped },
    {
      strides: [1, 1],
      dilations: [1, 1],
      pad: [[0, 0], [kh - 1 - top, bottom], [kw - 1 - left, right], [0, 0]],
      dataFormat: 'NHWC',
      dimRoundingMode: undefined as unknown as string,
    } as unknown as NamedAttrMap,
  );
  return t.release(dx);
}

interface WasmHeapAccess {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

/**
 * The filter flipped in both spatial axes with in/out channels swapped, as [KH*KW, Co, Ci]. Flipping
 * both axes reverses the order of the KH*KW taps: contiguous blocks copied on the wasm heap (its Reverse
 * and GatherV2 kernels run at ~12 M elements/s, 20x slower than this copy).
 */
function flippedSwapped(t: Temps, filter: TensorInfo): TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  const taps = kh * kw;
  const block = ci * co;
  const heap = t.backend as unknown as WasmHeapAccess;
  const reversed = t.keep(heap.makeOutput([taps, ci, co], 'float32'));
  const src = heap.typedArrayFromHeap(filter);
  const dst = heap.typedArrayFromHeap(reversed);
  for (let tap = 0; tap < taps; tap++) dst.set(src.subarray((taps - 1 - tap) * block, (taps - tap) * block), tap * block);
  return t.run('Transpose', { x: reversed }, { perm: [0, 2, 1] });
}

/** Registers (or re-registers) both gradient kernels on the wasm backend. */
export function registerWasmConvGradients(): void {
  for (const [kernelName, kernelFunc] of [
    ['Conv2DBackpropFilter', conv2dBackpropFilter],
    ['Conv2DBackpropInput', conv2dBackpropInput],
  ] as const) {
    if (tf.getKernel(kernelName, BACKEND)) tf.unregisterKernel(kernelName, BACKEND);
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
}
