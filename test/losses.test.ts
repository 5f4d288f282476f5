import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../engine/tf.js';
import { initBackend } from '../engine/backends/select.js';
import { logdet, logdetDevice, logdetHost } from '../engine/ops/logdet.js';
import { checkFixture, LOSSES, type Fixture } from '../src/selfcheck.js';
import { backendsUnderTest, relativeError } from './helpers.js';
import { Rng } from '../engine/random.js';
import { FIXTURE_REFERENCE_DIR } from './requirements.js';

// The project's fixtures (bench/parity/make_reference.py); test/reference_fixtures.test.ts checks them against
// ../shared/reference where that is present.
const dir = path.join(FIXTURE_REFERENCE_DIR, 'losses');
const fixtures = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const read = (file: string) => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Fixture;

describe.each(await backendsUnderTest('cpu', 'wasm'))('losses against the PyTorch reference values (%s backend)', (backend) => {
  beforeAll(async () => {
    await initBackend({ backend });
  });

  it('covers every method', () => {
    const covered = new Set(fixtures.map((f) => read(f).method));
    expect(Object.keys(LOSSES).filter((m) => !covered.has(m))).toEqual([]);
  });

  // Loss, every named term (SwAV's codes included) and every gradient the file gives, as relative L2 errors;
  // test/selfcheck_cli.test.ts shows the same checker failing on wrong expected values. A fixture may come
  // before its method's loss (mocov2plus.json did): skipped, naming what is missing, until the loss is registered.
  const registered = fixtures.filter((f) => read(f).method in LOSSES);
  const awaiting = fixtures.filter((f) => !(read(f).method in LOSSES));
  it.each(registered)('%s: loss, terms and gradients', async (file) => {
    const fx = read(file);
    const result = await checkFixture(fx, file);
    expect(result.error).toBeUndefined();
    expect(result.loss_error).toBeLessThan(fx.tolerance.loss_rel);
    expect(result.grad_error).toBeLessThan(fx.tolerance.grad_rel);
    expect(result.pass).toBe(true);
  });
  for (const file of awaiting)
    it.skip(`${file}: loss, terms and gradients (skipped: no method "${read(file).method}" with a referenceLoss in methods/registry.ts)`);
});

describe('logdet', () => {
  it('matches a closed form and its gradient is the inverse', async () => {
    await initBackend({ backend: 'cpu' });
    const a = tf.tensor3d([
      [
        [4, 1],
        [1, 3],
      ],
      [
        [2, 0],
        [0, 5],
      ],
    ]);
    const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => tf.sum(logdet(x)))([a]);
    expect(value.dataSync()[0]).toBeCloseTo(Math.log(11) + Math.log(10), 5);
    const g = grads[0].arraySync() as number[][][];
    expect(g[0][0][0]).toBeCloseTo(3 / 11, 6);
    expect(g[0][0][1]).toBeCloseTo(-1 / 11, 6);
    expect(g[1][1][1]).toBeCloseTo(1 / 5, 6);
    expect(() =>
      logdet(
        tf.tensor2d([
          [1, 2],
          [2, 1],
        ]),
      ),
    ).toThrow(/not positive definite/);
  });

  // The device path (webgpu's: float32 sweeps in tensor ops) against the host path (float64 Cholesky), on the
  // cpu backend so it runs everywhere: EMP-SSL-like matrices I + c Z Z^T, from spread out to nearly collapsed
  // embeddings (condition numbers up to ~3000).
  it.each([0, 0.9, 0.99])('device path agrees with the float64 host path (collapse %s)', async (collapse) => {
    await initBackend({ backend: 'cpu' });
    const [count, m, d] = [3, 24, 64];
    const rng = new Rng(5);
    const a = tf.tidy(() => {
      const own = tf.tensor3d(rng.fillNormal(new Float32Array(count * m * d)), [count, m, d]);
      const shared = tf.tensor3d(rng.fillNormal(new Float32Array(count * d)), [count, 1, d]);
      const z = tf.add(tf.mul(own, 1 - collapse), tf.mul(shared, collapse));
      const zn = tf.div(z, tf.norm(z, 2, -1, true));
      return tf.add(tf.eye(m), tf.mul(tf.matMul(zn, zn, false, true), d / (m * 0.2)));
    });
    const run = async (f: (x: tf.Tensor) => tf.Tensor) => {
      const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => tf.sum(f(x)))([a]);
      return { value: await value.data(), grad: await grads[0].data() };
    };
    const host = await run(logdetHost);
    const device = await run(logdetDevice);
    expect(relativeError(device.value, host.value)).toBeLessThan(1e-5);
    expect(relativeError(device.grad, host.grad)).toBeLessThan(1e-4);
    expect(
      await logdetDevice(
        tf.tensor2d([
          [1, 2],
          [2, 1],
        ]),
      ).data(),
    ).toEqual(new Float32Array([NaN])); // not positive definite
  });
});
