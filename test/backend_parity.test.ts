import * as tf from '../src/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backends/select.js';
import { Rng } from '../src/random.js';
import { relativeError } from './helpers.js';

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

describe('wasm convolution gradients', () => {
  beforeAll(async () => {
    const info = await initBackend({ backend: 'wasm' });
    expect(info.name).toBe('wasm');
  });

  it.each(cases)('k=$k stride=$stride pad=$pad n=$n h=$h w=$w', (c) => {
    const rng = new Rng(7);
    const xData = rng.fillNormal(new Float32Array(c.n * c.h * c.w * c.ci));
    const wData = rng.fillNormal(new Float32Array(c.k * c.k * c.ci * c.co));
    const gData = (size: number) => new Rng(11).fillNormal(new Float32Array(size));
    const ref = gradsOn('cpu', c, xData, wData, gData);
    const got = gradsOn('wasm', c, xData, wData, gData);
    expect(relativeError(got.y, ref.y)).toBeLessThan(1e-5);
    expect(relativeError(got.dx, ref.dx)).toBeLessThan(1e-4);
    expect(relativeError(got.dw, ref.dw)).toBeLessThan(1e-4);
  });

  it('does not leak tensors', () => {
    tf.setBackend('wasm');
    const c = cases[5];
    const before = tf.memory().numTensors;
    const rng = new Rng(3);
    gradsOn('wasm', c, rng.fillNormal(new Float32Array(c.n * c.h * c.w * c.ci)), rng.fillNormal(new Float32Array(c.k * c.k * c.ci * c.co)), (s) => new Float32Array(s).fill(1));
    expect(tf.memory().numTensors).toBe(before);
    expect((tf.engine().backend as unknown as { dataIdMap: { numDataIds(): number } }).dataIdMap.numDataIds()).toBeGreaterThanOrEqual(0);
  });
});
