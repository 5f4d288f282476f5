/**
 * Transpose for the wasm backend, in JavaScript on the wasm heap.
 *
 * tfjs-backend-wasm 4.22's Transpose visits every element with a full index computation: 29-40 ms for one
 * [256, 32, 32, 16] activation map on this machine, 12-18 ms here (measured under load). The convolution filter
 * gradient (wasm_conv_grads.ts) transposes two such maps per call, and every transposed matrix product one
 * operand (wasm_matmul.ts).
 *
 * Axes of size 1 are dropped and axes that stay adjacent and in order are merged first, so what is left is
 * one of: blocks moved whole (the last axis stays last: one `set` per contiguous block), or 2-D transposes
 * (possibly one per index of a leading or middle axis) done in cache-sized tiles. Anything else (rank > 3
 * with the last axis moving, strings, complex numbers) goes to tfjs's own kernel.
 */
import type { TensorInfo } from '../tf.js';
import { replaceWasmKernel, stockWasmKernel, type WasmHeap } from './wasm_kernels.js';

const TILE = 32;

type Elements = Float32Array | Int32Array | Uint8Array;

/** Drops size-1 axes and merges axes that stay adjacent and in order: the smallest equivalent transpose. */
export function simplifyTranspose(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const kept = shape.map((_, axis) => axis).filter((axis) => shape[axis] !== 1);
  const renumber = new Map(kept.map((axis, i) => [axis, i]));
  const reducedShape = kept.map((axis) => shape[axis]);
  const reducedPerm = perm.filter((axis) => shape[axis] !== 1).map((axis) => renumber.get(axis)!);
  // Runs of consecutive source axes in the output order become one axis.
  const runs: number[][] = [];
  for (const axis of reducedPerm) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] + 1 === axis) last.push(axis);
    else runs.push([axis]);
  }
  const bySource = [...runs].sort((a, b) => a[0] - b[0]);
  const merged = bySource.map((run) => run.reduce((size, axis) => size * reducedShape[axis], 1));
  return { shape: merged, perm: runs.map((run) => bySource.indexOf(run)) };
}

/** dst[c * dstStride + r] = src[r * srcStride + c] for r < rows, c < cols, in TILE x TILE tiles. */
function transpose2d(
  src: Elements,
  srcAt: number,
  srcStride: number,
  dst: Elements,
  dstAt: number,
  dstStride: number,
  rows: number,
  cols: number,
): void {
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let c = c0; c < c1; c++) {
        let d = dstAt + c * dstStride + r0;
        let s = srcAt + r0 * srcStride + c;
        for (let r = r0; r < r1; r++, s += srcStride) dst[d++] = src[s];
      }
    }
  }
}

/** Moves contiguous blocks of `shape[last]` elements: the last axis stays last, the others are permuted. */
function moveBlocks(src: Elements, dst: Elements, shape: number[], perm: number[]): void {
  const rank = shape.length;
  const block = shape[rank - 1];
  const srcStrides = new Array<number>(rank);
  srcStrides[rank - 1] = 1;
  for (let a = rank - 2; a >= 0; a--) srcStrides[a] = srcStrides[a + 1] * shape[a + 1];
  const outShape = perm.map((a) => shape[a]);
  const index = new Array<number>(rank - 1).fill(0);
  const blocks = dst.length / block;
  let from = 0;
  for (let b = 0; b < blocks; b++) {
    dst.set(src.subarray(from, from + block), b * block);
    // Advance the output index (odometer over the output's leading axes) and the source offset with it.
    for (let a = rank - 2; a >= 0; a--) {
      from += srcStrides[perm[a]];
      if (++index[a] < outShape[a]) break;
      from -= srcStrides[perm[a]] * outShape[a];
      index[a] = 0;
    }
  }
}

/** Whether transposeInto handles a simplified permutation: rank <= 3, or any rank keeping the last axis last. */
function handles({ shape, perm }: { shape: number[]; perm: number[] }): boolean {
  return shape.length <= 3 || perm[shape.length - 1] === shape.length - 1;
}

/** The transpose of a simplified permutation that `handles` accepts. */
function transposeInto(src: Elements, dst: Elements, shape: number[], perm: number[]): void {
  const rank = shape.length;
  if (rank <= 1) dst.set(src);
  else if (perm[rank - 1] === rank - 1) moveBlocks(src, dst, shape, perm);
  else if (rank === 2) transpose2d(src, 0, shape[1], dst, 0, shape[0], shape[0], shape[1]);
  else {
    const [a, b, c] = shape;
    // After merging, a rank-3 permutation that moves the last axis is [0, 2, 1] or [2, 1, 0].
    if (perm[0] === 0) for (let i = 0; i < a; i++) transpose2d(src, i * b * c, c, dst, i * b * c, b, b, c);
    else for (let j = 0; j < b; j++) transpose2d(src, j * c, b * c, dst, j * a, b * a, a, c);
  }
}

export function registerWasmTranspose(): void {
  replaceWasmKernel('Transpose', (args) => {
    const x = args.inputs.x as TensorInfo;
    const perm = (args.attrs as unknown as { perm: number[] }).perm;
    const simple = simplifyTranspose(x.shape, perm);
    if (x.dtype === 'string' || x.dtype === 'complex64' || !handles(simple))
      return stockWasmKernel('Transpose').kernelFunc(args) as TensorInfo;
    const heap = args.backend as unknown as WasmHeap;
    const out = heap.makeOutput(
      perm.map((a) => x.shape[a]),
      x.dtype,
    );
    // Views are taken after the last allocation: the heap may have grown.
    transposeInto(heap.typedArrayFromHeap(x), heap.typedArrayFromHeap(out), simple.shape, simple.perm);
    return out;
  });
}
