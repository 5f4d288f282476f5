/**
 * What the losses do beyond the reference files (test/losses.test.ts checks those against PyTorch):
 * VICReg and Barlow Twins for more than two views, each against a direct computation from its 2-view
 * definition, and SwAV's assignments over its queue.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backends/select.js';
import { Rng } from '../engine/random.js';
import * as tf from '../engine/tf.js';
import { loss as barlowLoss } from '../methods/barlow_twins.js';
import { loss as swavLoss, sinkhorn } from '../methods/swav.js';
import { loss as vicregLoss } from '../methods/vicreg.js';

const randomViews = (n: number, b: number, d: number, seed: number) => {
  const rng = new Rng(seed);
  return tf.tensor3d(
    Float32Array.from({ length: n * b * d }, () => rng.normal()),
    [n, b, d],
  );
};
const value = (t: tf.Tensor) => t.dataSync()[0];

describe('multi-view losses', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'cpu' });
  });

  it('VICReg: invariance is the mean over all view pairs; variance and covariance keep their 2-view scale', () => {
    const z = randomViews(5, 6, 4, 1);
    const vs = tf.unstack(z);
    const pairs: number[] = [];
    for (let i = 0; i < vs.length; i++)
      for (let j = i + 1; j < vs.length; j++) pairs.push(value(tf.mean(tf.squaredDifference(vs[i], vs[j]))));
    const r = vicregLoss({ z });
    expect(value(r.terms!.invariance)).toBeCloseTo(pairs.reduce((a, b) => a + b) / pairs.length, 5);
    // Views [a, b, a, b]: the regularisers see the same two views as the 2-view loss.
    const [a, b] = tf.unstack(randomViews(2, 6, 4, 2));
    const two = vicregLoss({ z: tf.stack([a, b]) });
    const four = vicregLoss({ z: tf.stack([a, b, a, b]) });
    expect(value(four.terms!.variance)).toBeCloseTo(value(two.terms!.variance), 5);
    expect(value(four.terms!.covariance)).toBeCloseTo(value(two.terms!.covariance), 5);
  });

  it('Barlow Twins: each view against the mean of the others, averaged; 2 views is the 2-view loss', () => {
    const z = randomViews(3, 8, 5, 3);
    const vs = tf.unstack(z) as tf.Tensor2D[];
    const direct = vs.map((v, i) => {
      const others = vs.filter((_, j) => j !== i);
      return value(barlowLoss({ z: tf.stack([v, tf.div(tf.addN(others), others.length)]) }).loss);
    });
    expect(value(barlowLoss({ z }).loss)).toBeCloseTo(direct.reduce((x, y) => x + y) / direct.length, 4);
    // The 2-view fast path is the general formula at N = 2 (c of (b, a) is c of (a, b) transposed).
    const ab = value(barlowLoss({ z: tf.stack([vs[0], vs[1]]) }).loss);
    const ba = value(barlowLoss({ z: tf.stack([vs[1], vs[0]]) }).loss);
    expect(ab).toBeCloseTo(ba, 4);
    expect(() => barlowLoss({ z: randomViews(1, 8, 5, 4) })).toThrow(/at least 2 views/);
  });

  it('SwAV: with a queue, each view is assigned over batch + queue and its codes cut back to the batch', () => {
    const z = randomViews(3, 4, 6, 5);
    const prototypes = tf.tensor2d(
      Float32Array.from({ length: 7 * 6 }, (_, i) => Math.sin(i + 1)),
      [7, 6],
    );
    const normalize = (x: tf.Tensor) => tf.div(x, tf.norm(x, 'euclidean', -1, true));
    const queue = normalize(randomViews(2, 5, 6, 6));
    const params = { temperature: 0.1, eps: 0.05, iters: 3, n_global: 2 };
    const r = swavLoss({ z, prototypes, queue }, params);
    const scores = tf.matMul(normalize(tf.unstack(z)[0]), normalize(prototypes), false, true);
    const queueScores = tf.matMul(tf.unstack(queue)[0], normalize(prototypes), false, true);
    const want = tf.slice(sinkhorn(tf.concat([scores, queueScores], 0) as tf.Tensor2D, 0.05, 3), [0, 0], [4, -1]);
    const got = r.terms.codes_view0;
    expect(got.shape).toEqual([4, 7]);
    expect(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]).toBeLessThan(1e-6);
    // And the queue changes the assignments (else it would not be used at all).
    const without = swavLoss({ z, prototypes }, params).terms.codes_view0;
    expect(tf.max(tf.abs(tf.sub(got, without))).dataSync()[0]).toBeGreaterThan(1e-3);
  });
});
