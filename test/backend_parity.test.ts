import * as tf from '../engine/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, useNativeKernels } from '../engine/backends/select.js';
import { type FilterGradientPath, registerWasmConvGradients } from '../engine/backends/wasm_conv_grads.js';
import { BatchNorm } from '../engine/nn/layers.js';
import { Rng } from '../engine/random.js';
import { relativeError } from './helpers.js';
import { requires } from './requirements.js';

/**
 * Conv2D gradients on wasm (our forward-convolution kernels) against the cpu backend's reference kernels.
 */
interface Case {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  stride: number;
  pad: 'same' | 'valid' | number;
}

const cases: Case[] = [];
for (const k of [1, 3]) {
  for (const stride of [1, 2]) {
    for (const pad of ['same', 'valid', k === 3 ? 1 : 0] as const) {
      for (const [n, h, w] of [
        [1, 7, 7],
        [3, 9, 6],
      ]) {
        cases.push({ n, h, w, ci: 5, co: 4, k, stride, pad });
      }
    }
  }
}
cases.push({ n: 2, h: 11, w: 11, ci: 3, co: 8, k: 7, stride: 2, pad: 3 }); // ImageNet stem shape

function gradsOn(backend: string, c: Case, xData: Float32Array, wData: Float32Array, gData: (n: number) => Float32Array) {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(xData, [c.n, c.h, c.w, c.ci]);
    const w = tf.tensor4d(wData, [c.k, c.k, c.ci, c.co]);
    const y = tf.conv2d(x, w, c.stride, c.pad);
    const dy = tf.tensor(gData(y.size), y.shape);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), dy));
    const [dx, dw] = tf.grads(f)([x, w]);
    return { y: y.dataSync().slice(), dx: dx.dataSync().slice(), dw: dw.dataSync().slice() };
  });
}

// Whether the oneDNN addon (native/) loads here: decided before the tests are collected, so that its block is
// reported as skipped with the reason, not passed (and fails under CI, which builds it).
const onednn = (await initBackend({ backend: 'wasm' })).native;
const ONEDNN = requires(
  'the oneDNN native addon',
  onednn?.loaded === true,
  `${onednn && !onednn.loaded ? onednn.reason : 'not loaded'} (apt-get install libdnnl-dev, then npm ci builds native/)`,
);

// The project's wasm kernels (the filter gradient by im2col where its columns are small, by a dilated
// convolution otherwise: both forced in turn), and the native oneDNN ones when the addon is built.
interface KernelPath {
  name: string;
  native: boolean;
  filterGradient: FilterGradientPath;
  tol: number;
}
const paths: KernelPath[] = [
  { name: 'wasm kernels (im2col filter gradient)', native: false, filterGradient: 'im2col', tol: 1e-4 },
  { name: 'wasm kernels (dilated filter gradient)', native: false, filterGradient: 'dilated', tol: 1e-4 },
  { name: 'oneDNN kernels', native: true, filterGradient: 'auto', tol: 1e-5 },
];

for (const kernels of paths) {
  const title = `convolution and its gradients on wasm: ${kernels.name}`;
  if (kernels.native) ONEDNN.describe(title, () => kernelTests(kernels));
  else describe(title, () => kernelTests(kernels));
}

function kernelTests({ native, filterGradient, tol }: KernelPath) {
  // Hooks of every block run before any test: select this block's kernels in each test.
  const usePath = () => {
    useNativeKernels(native); // turning oneDNN off puts back the wasm kernels it replaced: choose after it
    if (!native) registerWasmConvGradients({ filterGradient });
  };
  beforeAll(async () => {
    const info = await initBackend({ backend: 'wasm' });
    expect(info.name).toBe('wasm');
    expect(useNativeKernels(native)).toBe(native);
  });

  it.each(cases)('k=$k stride=$stride pad=$pad n=$n h=$h w=$w', (c) => {
    usePath();
    const rng = new Rng(7);
    const xData = rng.fillNormal(new Float32Array(c.n * c.h * c.w * c.ci));
    const wData = rng.fillNormal(new Float32Array(c.k * c.k * c.ci * c.co));
    const gData = (size: number) => new Rng(11).fillNormal(new Float32Array(size));
    const ref = gradsOn('cpu', c, xData, wData, gData);
    const got = gradsOn('wasm', c, xData, wData, gData);
    expect(relativeError(got.y, ref.y)).toBeLessThan(tol);
    expect(relativeError(got.dx, ref.dx)).toBeLessThan(tol);
    expect(relativeError(got.dw, ref.dw)).toBeLessThan(tol);
  });

  it.each([
    { a: [5, 7], b: [7, 3], ta: false, tb: false },
    { a: [7, 5], b: [7, 3], ta: true, tb: false },
    { a: [5, 7], b: [3, 7], ta: false, tb: true },
    { a: [7, 5], b: [3, 7], ta: true, tb: true },
    { a: [2, 5, 7], b: [2, 7, 3], ta: false, tb: false },
    { a: [2, 7, 5], b: [1, 7, 3], ta: true, tb: false },
  ])('matMul $a x $b transposeA=$ta transposeB=$tb, with and without bias', ({ a, b, ta, tb }) => {
    usePath();
    const rng = new Rng(5);
    const aData = rng.fillNormal(new Float32Array(a.reduce((p, d) => p * d, 1)));
    const bData = rng.fillNormal(new Float32Array(b.reduce((p, d) => p * d, 1)));
    const n = tb ? b[b.length - 2] : b[b.length - 1];
    const biasData = rng.fillNormal(new Float32Array(n));
    const run = (backend: string) => {
      tf.setBackend(backend);
      return tf.tidy(() => {
        const ta_ = tf.tensor(aData, a);
        const tb_ = tf.tensor(bData, b);
        const plain = tf.matMul(ta_, tb_, ta, tb).dataSync().slice();
        const fused = tf.fused
          .matMul({ a: ta_ as tf.Tensor2D, b: tb_ as tf.Tensor2D, transposeA: ta, transposeB: tb, bias: tf.tensor1d(biasData) })
          .dataSync()
          .slice();
        return { plain, fused };
      });
    };
    const ref = run('cpu');
    const got = run('wasm');
    expect(relativeError(got.plain, ref.plain)).toBeLessThan(tol);
    expect(relativeError(got.fused, ref.fused)).toBeLessThan(tol);
  });

  it.each([{ shape: [4, 5, 3, 6] }, { shape: [7, 9] }])('training batch norm $shape: output, statistics and gradients', ({ shape }) => {
    usePath();
    const c = shape[shape.length - 1];
    const bn = new BatchNorm('bn', c);
    const rng = new Rng(9);
    const xData = rng.fillNormal(new Float32Array(shape.reduce((p, d) => p * d, 1)));
    const dyData = rng.fillNormal(new Float32Array(xData.length));
    const gData = rng.fillNormal(new Float32Array(c));
    const bData = rng.fillNormal(new Float32Array(c));
    const run = (backend: string) => {
      tf.setBackend(backend);
      return tf.tidy(() => {
        const ctx = {
          params: {},
          buffers: { 'bn.running_mean': tf.zeros([c]), 'bn.running_var': tf.ones([c]) },
          training: true,
          bufferUpdates: new Map(),
        };
        const dy = tf.tensor(dyData, shape);
        const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(bn.forward(x, { ...ctx, params: { 'bn.weight': g, 'bn.bias': b } }), dy));
        const { value, grads } = tf.valueAndGrads(f)([tf.tensor(xData, shape), tf.tensor1d(gData), tf.tensor1d(bData)]);
        const stats = [...ctx.bufferUpdates.values()].map((t) => t.dataSync().slice());
        tf.dispose([...ctx.bufferUpdates.values()]);
        return { value: value.dataSync()[0], grads: grads.map((g) => g.dataSync().slice()), stats };
      });
    };
    const ref = run('cpu');
    const got = run('wasm');
    expect(Math.abs(got.value - ref.value) / Math.abs(ref.value)).toBeLessThan(tol);
    got.grads.forEach((g, i) => expect(relativeError(g, ref.grads[i])).toBeLessThan(tol));
    got.stats.forEach((t, i) => expect(relativeError(t, ref.stats[i])).toBeLessThan(tol));
  });

  it.each([{ shape: [4, 5, 3, 6] }, { shape: [7, 9] }])('eval-mode batch norm $shape (running statistics)', ({ shape }) => {
    usePath();
    const c = shape[shape.length - 1];
    const rng = new Rng(10);
    const xData = rng.fillNormal(new Float32Array(shape.reduce((p, d) => p * d, 1)));
    const [mean, gamma, beta] = [0, 1, 2].map(() => rng.fillNormal(new Float32Array(c)));
    const variance = Float32Array.from(rng.fillNormal(new Float32Array(c)), (v) => 0.2 + v * v);
    const run = (backend: string) => {
      tf.setBackend(backend);
      return tf.tidy(() => {
        const ctx = {
          params: { 'bn.weight': tf.tensor1d(gamma), 'bn.bias': tf.tensor1d(beta) },
          buffers: { 'bn.running_mean': tf.tensor1d(mean), 'bn.running_var': tf.tensor1d(variance) },
          training: false,
          bufferUpdates: new Map(),
        };
        return new BatchNorm('bn', c).forward(tf.tensor(xData, shape), ctx).dataSync().slice();
      });
    };
    expect(relativeError(run('wasm'), run('cpu'))).toBeLessThan(tol);
  });

  it('does not leak tensors', () => {
    usePath();
    tf.setBackend('wasm');
    const c = cases[5];
    const before = tf.memory().numTensors;
    const rng = new Rng(3);
    gradsOn(
      'wasm',
      c,
      rng.fillNormal(new Float32Array(c.n * c.h * c.w * c.ci)),
      rng.fillNormal(new Float32Array(c.k * c.k * c.ci * c.co)),
      (s) => new Float32Array(s).fill(1),
    );
    expect(tf.memory().numTensors).toBe(before);
  });
}
