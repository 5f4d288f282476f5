import * as tf from '../engine/tf.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backends/select.js';
import { simplifyTranspose } from '../engine/backends/wasm_transpose.js';

/** Every permutation of 0..n-1. */
function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

describe('simplifyTranspose', () => {
  it('drops size-1 axes and merges axes that stay adjacent', () => {
    expect(simplifyTranspose([256, 32, 32, 16], [3, 1, 2, 0])).toEqual({ shape: [256, 1024, 16], perm: [2, 1, 0] });
    expect(simplifyTranspose([256, 32, 32, 16], [1, 2, 0, 3])).toEqual({ shape: [256, 1024, 16], perm: [1, 0, 2] });
    expect(simplifyTranspose([4, 1, 5], [2, 1, 0])).toEqual({ shape: [4, 5], perm: [1, 0] });
    expect(simplifyTranspose([2, 3, 4], [0, 1, 2])).toEqual({ shape: [24], perm: [0] });
    expect(simplifyTranspose([1, 1], [1, 0])).toEqual({ shape: [], perm: [] });
  });
});

describe('Transpose on wasm (the project kernel) against the cpu backend', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'cpu' });
    const info = await initBackend({ backend: 'wasm' });
    expect(info.name).toBe('wasm');
  });

  const shapes = [[7], [3, 5], [33, 65], [2, 3, 4], [4, 1, 6], [3, 34, 5], [2, 3, 4, 5], [3, 1, 5, 2], [2, 3, 1, 4, 2]];
  for (const shape of shapes) {
    it(`every permutation of [${shape}] (float32, int32, bool)`, () => {
      const size = shape.reduce((a, b) => a * b, 1);
      const values = Float32Array.from({ length: size }, (_, i) => i * 0.5 - 3);
      for (const perm of permutations(shape.length)) {
        for (const dtype of ['float32', 'int32', 'bool'] as const) {
          const data = dtype === 'bool' ? values.map((v) => (Math.floor(v) % 3 === 0 ? 1 : 0)) : values;
          const expected = (() => {
            tf.setBackend('cpu');
            return tf.tidy(() =>
              tf
                .transpose(tf.tensor(data, shape, dtype), perm)
                .dataSync()
                .slice(),
            );
          })();
          tf.setBackend('wasm');
          const got = tf.tidy(() => {
            const y = tf.transpose(tf.tensor(data, shape, dtype), perm);
            expect(y.shape).toEqual(perm.map((a) => shape[a]));
            expect(y.dtype).toBe(dtype);
            return y.dataSync().slice();
          });
          expect(Array.from(got), `perm [${perm}] ${dtype}`).toEqual(Array.from(expected));
        }
      }
    });
  }

  it('does not leak tensors', () => {
    tf.setBackend('wasm');
    const x = tf.ones([4, 8, 8, 3]);
    const before = tf.memory().numTensors;
    tf.transpose(x, [3, 1, 2, 0]).dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
