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
 *   dX[n,h,w,ci] = sum_{kh,kw,co} dy[n, (h + p - kh)/s, (w + p - kw)/s, co] * w[kh,kw,ci,co]  (integer indices only)
 *     = for stride 1: conv(input = dy, filter = w flipped in space with in/out swapped, stride 1,
 *       padding K-1-p before); for stride s: the same per output phase (h mod s, w mod s) with the
 *       filter taps that reach that phase, interleaved afterwards.
 *
 * The filter gradient as one dilated convolution is a product with a tiny output (KH*KW*Ci x Co) and a huge
 * reduction (N*OH*OW): XNNPACK streams the whole packed dy once per few output rows, so it runs far below
 * the forward convolution's speed, worst where Ci*KH*KW is smallest (the stem: 46 ms against the forward's 5;
 * a 1x1 stride-2 shortcut: 82 against 3, batch 256 on this machine). There the columns are small, so
 *
 *   dW[(kh,kw,ci), co] = sum_m colsT[(kh,kw,ci), m] dy[m, co],  m = (n, oh, ow),
 *
 * with colsT (im2col, transposed) written on the heap in JavaScript and one product on XNNPACK's
 * fully-connected operator. Used where KH*KW*Ci <= IM2COL_MAX_ROWS and the columns (KH*KW*Ci*N*OH*OW values)
 * fit in IM2COL_MAX_ELEMENTS. Measured per layer (batch 256, 32x32, 2 threads): the stem with 3 channels
 * 48 -> 24 ms, with 1 channel 46 -> 10; 1x1 stride-2 shortcuts 82 -> 9; but for 3x3 layers of 16+ channels
 * the dilated convolution is as fast or faster (16 -> 16 at 32x32: 83 against 167 by im2col).
 *
 * The kernels below call the wasm backend's own kernels (Transpose, Reshape, Slice, Fill, Conv2D, BatchMatMul)
 * and free every intermediate.
 */
import * as tf from '../tf.js';
import { backend_util, type KernelBackend, type NamedAttrMap, type TensorInfo } from '../tf.js';
import { type KernelArgs, WASM } from './wasm_kernels.js';

function runKernel(name: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap, backend: KernelBackend): TensorInfo {
  const kernel = tf.getKernel(name, WASM);
  if (!kernel) throw new Error(`the ${WASM} backend has no ${name} kernel`);
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

/** The im2col filter gradient is used up to this many rows (KH*KW*Ci) ... */
const IM2COL_MAX_ROWS = 64;
/** ... and this many column values (64 MB). */
const IM2COL_MAX_ELEMENTS = 16 * 1024 * 1024;

/** How the filter gradient is computed: by shape (auto), or one way always (tests). */
export type FilterGradientPath = 'auto' | 'im2col' | 'dilated';

function filterGradient(path: FilterGradientPath) {
  return (args: KernelArgs): TensorInfo => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const { filterShape } = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const info = convInfoFor(x.shape as [number, number, number, number], filterShape, args.attrs!);
    const rows = info.filterHeight * info.filterWidth * info.inChannels;
    const small = rows <= IM2COL_MAX_ROWS && rows * info.batchSize * info.outHeight * info.outWidth <= IM2COL_MAX_ELEMENTS;
    const im2col = path === 'im2col' || (path === 'auto' && small);
    return im2col ? filterGradientIm2col(x, dy, info, args.backend) : filterGradientDilated(x, dy, info, args.backend);
  };
}

/** dW = colsT dy: colsT [KH*KW*Ci, N*OH*OW] built on the heap, then one product (dy [N*OH*OW, Co] as is). */
function filterGradientIm2col(x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo, backend: KernelBackend): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  const t = new Temps(backend);
  const heap = backend as unknown as WasmHeapAccess;
  const pixels = n * oh * ow;
  const cols = t.keep(heap.makeOutput([1, kh * kw * ci, pixels], 'float32')); // rank 3, as BatchMatMul takes
  const src = heap.typedArrayFromHeap(x); // views after the allocation: the heap may have grown
  const dst = heap.typedArrayFromHeap(cols);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      for (let c = 0; c < ci; c++) {
        let d = ((a * kw + b) * ci + c) * pixels;
        for (let img = 0; img < n; img++) {
          for (let i = 0; i < oh; i++) {
            const row = i * sh + a - top;
            if (row < 0 || row >= h) {
              dst.fill(0, d, d + ow);
              d += ow;
              continue;
            }
            const base = (img * h + row) * w;
            for (let j = 0; j < ow; j++) {
              const col = j * sw + b - left;
              dst[d++] = col >= 0 && col < w ? src[(base + col) * ci + c] : 0;
            }
          }
        }
      }
    }
  }
  const dy2d = t.run('Reshape', { x: dy }, { shape: [1, pixels, co] });
  const product = t.run('BatchMatMul', { a: cols, b: dy2d }, { transposeA: false, transposeB: false });
  return t.release(t.run('Reshape', { x: product }, { shape: [kh, kw, ci, co] }));
}

function filterGradientDilated(x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo, backend: KernelBackend): TensorInfo {
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
  const conv = t.run('Conv2D', { x: input, filter }, {
    strides: [1, 1],
    dilations: [sh, sw],
    pad: [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
    dataFormat: 'NHWC',
    dimRoundingMode: undefined as unknown as string,
  } as unknown as NamedAttrMap); // [Ci, KH, KW, Co]
  return t.release(t.run('Transpose', { x: conv }, { perm: [1, 2, 0, 3] }));
}

function conv2dBackpropInput({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const info = convInfoFor(inputShape, filter.shape as [number, number, number, number], attrs!);
  const t = new Temps(backend);
  const { strideHeight: sh, strideWidth: sw } = info;
  if (sh === 1 && sw === 1) return t.release(inputGradientPhase(t, dy, filter, info, 0, 0));

  // Strided: split dx into its sh x sw phases (rows h = sh*i + ph, columns w = sw*j + pw). Each phase is
  // a stride-1 convolution of dy with the taps of the filter that reach it, so no work is spent on the
  // zeros a dilated dy would carry. The phases are then interleaved into [N, H, W, Ci] on the heap
  // (wasm's rank-6 Transpose and StridedSlice are element-by-element loops, far slower than these copies).
  const phases: TensorInfo[][] = [];
  for (let ph = 0; ph < sh; ph++) {
    phases.push([]);
    for (let pw = 0; pw < sw; pw++) phases[ph].push(inputGradientPhase(t, dy, filter, info, ph, pw));
  }
  const [n, h, w, ci] = inputShape;
  const heap = backend as unknown as WasmHeapAccess;
  const dx = t.keep(heap.makeOutput([n, h, w, ci], 'float32'));
  const out = heap.typedArrayFromHeap(dx); // views are taken after the last allocation (the heap may grow)
  for (let ph = 0; ph < sh; ph++) {
    for (let pw = 0; pw < sw; pw++) {
      const phase = phases[ph][pw];
      const [, hp, wp] = phase.shape;
      const src = hp * wp > 0 ? heap.typedArrayFromHeap(phase) : null;
      for (let b = 0; b < n; b++) {
        for (let i = 0; i < hp; i++) {
          for (let j = 0; j < wp; j++) {
            const at = ((b * h + sh * i + ph) * w + sw * j + pw) * ci;
            if (src) out.set(src.subarray(((b * hp + i) * wp + j) * ci, ((b * hp + i) * wp + j + 1) * ci), at);
          }
        }
      }
    }
  }
  return t.release(dx);
}

/**
 * Rows h = s*i + ph of dx (and likewise columns): dx[h] = sum_kh dy[(h + top - kh) / s] w[kh] over the
 * taps kh = r, r + s, ... with r = (ph + top) mod s, i.e. a stride-1 correlation of dy with those taps
 * flipped. Returns [N, ceil((H - ph) / s), ceil((W - pw) / s), Ci].
 */
function inputGradientPhase(
  t: Temps,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
  ph: number,
  pw: number,
): TensorInfo {
  const [n, h, w, ci] = info.inShape;
  const axes = [
    { size: h, k: info.filterHeight, s: info.strideHeight, pad: info.padInfo.top, out: info.outHeight, phase: ph },
    { size: w, k: info.filterWidth, s: info.strideWidth, pad: info.padInfo.left, out: info.outWidth, phase: pw },
  ].map(({ size, k, s, pad, out, phase }) => {
    const r = (phase + pad) % s;
    const q = (phase + pad - r) / s;
    const taps = Math.max(0, Math.ceil((k - r) / s));
    const rows = Math.max(0, Math.ceil((size - phase) / s));
    // Padding of dy before and after so the stride-1 correlation yields exactly `rows` outputs;
    // negative padding means dy rows that this phase never reads.
    return { r, taps, rows, before: taps - 1 - q, after: rows + q - out, out };
  });
  const [ah, aw] = axes;
  if (ah.taps === 0 || aw.taps === 0 || ah.rows === 0 || aw.rows === 0) {
    return t.run('Fill', {}, { shape: [n, ah.rows, aw.rows, ci], value: 0, dtype: 'float32' } as unknown as NamedAttrMap);
  }
  let input = dy;
  const crop = (a: (typeof axes)[number]) => ({
    begin: Math.max(0, -a.before),
    size: a.out - Math.max(0, -a.before) - Math.max(0, -a.after),
  });
  if (ah.before < 0 || ah.after < 0 || aw.before < 0 || aw.after < 0) {
    const [ch, cw] = [crop(ah), crop(aw)];
    input = t.run('Slice', { x: dy }, { begin: [0, ch.begin, cw.begin, 0], size: [n, ch.size, cw.size, dy.shape[3]] });
  }
  const rowsTaps = Array.from({ length: ah.taps }, (_, j) => ah.r + info.strideHeight * j);
  const colsTaps = Array.from({ length: aw.taps }, (_, j) => aw.r + info.strideWidth * j);
  const swapped = t.run(
    'Reshape',
    { x: flippedSwapped(t, filter, rowsTaps, colsTaps) },
    { shape: [ah.taps, aw.taps, filter.shape[3], ci] },
  ); // [kh, kw, Co, Ci]
  return t.run('Conv2D', { x: input, filter: swapped }, {
    strides: [1, 1],
    dilations: [1, 1],
    pad: [
      [0, 0],
      [Math.max(0, ah.before), Math.max(0, ah.after)],
      [Math.max(0, aw.before), Math.max(0, aw.after)],
      [0, 0],
    ],
    dataFormat: 'NHWC',
    dimRoundingMode: undefined as unknown as string,
  } as unknown as NamedAttrMap);
}

interface WasmHeapAccess {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

/**
 * The filter restricted to the taps rows x cols, flipped in both spatial axes, with in/out channels
 * swapped: [rows*cols, Co, Ci]. Flipping reverses the tap order, so each output tap is one contiguous
 * [Ci, Co] block of the filter copied on the wasm heap (its Reverse, GatherV2 and StridedSlice kernels
 * run at ~12 M elements/s, 20x slower than these copies), then one Transpose swaps the channels.
 */
function flippedSwapped(t: Temps, filter: TensorInfo, rows: number[], cols: number[]): TensorInfo {
  const [, kw, ci, co] = filter.shape;
  const block = ci * co;
  const heap = t.backend as unknown as WasmHeapAccess;
  const selected = t.keep(heap.makeOutput([rows.length * cols.length, ci, co], 'float32'));
  const src = heap.typedArrayFromHeap(filter);
  const dst = heap.typedArrayFromHeap(selected);
  let tap = 0;
  for (let a = rows.length - 1; a >= 0; a--) {
    for (let b = cols.length - 1; b >= 0; b--) {
      const from = (rows[a] * kw + cols[b]) * block;
      dst.set(src.subarray(from, from + block), block * tap++);
    }
  }
  return t.run('Transpose', { x: selected }, { perm: [0, 2, 1] });
}

/** Registers (or re-registers) both gradient kernels on the wasm backend; `filterGradient` forces one path (tests). */
export function registerWasmConvGradients({ filterGradient: path = 'auto' as FilterGradientPath } = {}): void {
  for (const [kernelName, kernelFunc] of [
    ['Conv2DBackpropFilter', filterGradient(path)],
    ['Conv2DBackpropInput', conv2dBackpropInput],
  ] as const) {
    if (tf.getKernel(kernelName, WASM)) tf.unregisterKernel(kernelName, WASM);
    tf.registerKernel({ kernelName, backendName: WASM, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
}
