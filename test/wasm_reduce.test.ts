import * as tf from '../engine/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backends/select.js';
import { stockWasmKernel } from '../engine/backends/wasm_kernels.js';
import { leadingReduction } from '../engine/backends/wasm_reduce.js';

describe('leadingReduction', () => {
  it('takes exactly the leading axes (some, not all), in any order or sign', () => {
    expect(leadingReduction([256, 32, 32, 16], [0, 1, 2])).toEqual({ leading: 3, rows: 256 * 32 * 32, cols: 16 });
    expect(leadingReduction([256, 32, 32, 16], [2, -4, 1])).toEqual({ leading: 3, rows: 256 * 32 * 32, cols: 16 });
    expect(leadingReduction([64, 2048], 0)).toEqual({ leading: 1, rows: 64, cols: 2048 });
    expect(leadingReduction([4, 5, 6], [0, 1])).toEqual({ leading: 2, rows: 20, cols: 6 });
  });
  it('leaves other reductions to tfjs', () => {
    expect(leadingReduction([4, 5, 6], [1, 2])).toBeNull(); // innermost: no transpose there anyway
    expect(leadingReduction([4, 5, 6], [0, 2])).toBeNull();
    expect(leadingReduction([4, 5, 6], [0, 1, 2])).toBeNull();
    expect(leadingReduction([4, 5, 6], [])).toBeNull();
  });
});

describe('Sum and Mean on wasm (the project kernels) against the cpu backend', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'cpu' });
    const info = await initBackend({ backend: 'wasm' });
    expect(info.name).toBe('wasm');
  });

  it('replaces tfjs-wasm kernels', () => {
    for (const name of ['Sum', 'Mean']) expect(tf.getKernel(name, 'wasm')!.kernelFunc).not.toBe(stockWasmKernel(name).kernelFunc);
  });

  const onBackend = (name: string, f: () => tf.Tensor) => {
    tf.setBackend(name);
    return tf.tidy(() => {
      const y = f();
      return { shape: y.shape, dtype: y.dtype, values: Array.from(y.dataSync()) };
    });
  };

  const cases: { shape: number[]; axis: number | number[] }[] = [
    { shape: [6, 5, 4, 3], axis: [0, 1, 2] },
    { shape: [6, 5, 4, 3], axis: [0, 1] },
    { shape: [6, 5, 4, 3], axis: 0 },
    { shape: [6, 5, 4, 3], axis: [1, 2] },
    { shape: [6, 5, 4, 3], axis: [0, 2] },
    { shape: [6, 5, 4, 3], axis: [-4, -3, -2] },
    { shape: [33, 70], axis: 0 },
    { shape: [33, 70], axis: 1 },
    { shape: [7, 1], axis: 0 },
    { shape: [0, 3], axis: 0 },
  ];
  for (const { shape, axis } of cases) {
    for (const keepDims of [false, true]) {
      it(`[${shape}] over ${JSON.stringify(axis)}${keepDims ? ', keepDims' : ''}`, () => {
        const size = shape.reduce((a, b) => a * b, 1);
        const data = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 1.7) * 3 + 0.25);
        for (const op of [tf.sum, tf.mean]) {
          const f = () => op(tf.tensor(data, shape), axis, keepDims);
          const want = onBackend('cpu', f);
          const got = onBackend('wasm', f);
          expect(got.shape).toEqual(want.shape);
          expect(got.dtype).toBe(want.dtype);
          got.values.forEach((v, i) => expect(v).toBeCloseTo(want.values[i], 4));
        }
      });
    }
  }

  it('sums a large map to float32 precision (float64 accumulation)', () => {
    // 262,144 rows of 16 channels, as batch norm's statistics of a [256, 32, 32, 16] map.
    const [rows, cols] = [262144, 16];
    const data = new Float32Array(rows * cols);
    for (let i = 0; i < data.length; i++) data[i] = 1 + ((i * 7919) % 1000) / 1000;
    const exact = new Float64Array(cols);
    for (let i = 0; i < data.length; i++) exact[i % cols] += data[i];
    const got = onBackend('wasm', () => tf.mean(tf.tensor(data, [256, 32, 32, 16]), [0, 1, 2]));
    got.values.forEach((v, c) => expect(Math.abs(v - exact[c] / rows)).toBeLessThan(1e-7)); // half a float32 ulp at 1.5 is 6e-8; tfjs-wasm's own sum is off by 2e-7 here
  });

  it('keeps integer sums to tfjs (int32 result)', () => {
    const got = onBackend('wasm', () => tf.sum(tf.tensor([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), 0));
    expect(got).toEqual({ shape: [2], dtype: 'int32', values: [9, 12] });
  });

  it('does not leak tensors', () => {
    tf.setBackend('wasm');
    const x = tf.ones([4, 8, 8, 3]);
    const before = tf.memory().numTensors;
    tf.sum(x, [0, 1, 2]).dispose();
    tf.mean(x, [0, 1, 2], true).dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
