import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../engine/tf.js';
import { initBackend } from '../engine/backends/select.js';
import { BatchNorm, Linear } from '../engine/nn/layers.js';
import { mlpHead } from '../engine/nn/mlp.js';
import type { ForwardContext } from '../engine/nn/module.js';
import { copyModel, emaUpdate, initModel, readTree } from '../engine/nn/params.js';
import { makeBackbone } from '../engine/nn/resnet.js';
import { Rng } from '../engine/random.js';
import { evalContext, trainingContext } from '../engine/train/step.js';
import { backendsUnderTest, relativeError } from './helpers.js';

function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(new Rng(seed).fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))), shape);
}

describe.each(await backendsUnderTest('cpu'))('nn layer (%s backend)', (backend) => {
  beforeAll(async () => {
    await initBackend({ backend });
  });

  it('batch norm training: output, gradients and running statistics match the textbook definition', async () => {
    const bn = new BatchNorm('bn', 3);
    const state = initModel([bn], 0);
    state.params['bn.weight'].assign(tf.tensor1d([1.5, -0.5, 2]));
    state.params['bn.bias'].assign(tf.tensor1d([0.1, 0.2, -0.3]));
    const x = randomTensor([4, 2, 2, 3], 1);
    const dy = randomTensor([4, 2, 2, 3], 2);
    const ctx = trainingContext(state);
    const gamma = state.params['bn.weight'];
    const beta = state.params['bn.bias'];

    const ours = tf.grads((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(bn.forward(xi, { ...ctx, params: { 'bn.weight': g, 'bn.bias': b } }), dy)),
    )([x, gamma, beta]);
    // Reference: tfjs's generic ops, differentiated automatically.
    const reference = tf.grads((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(xi, [0, 1, 2]);
      return tf.sum(tf.mul(tf.add(tf.mul(tf.div(tf.sub(xi, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b), dy));
    })([x, gamma, beta]);
    for (let i = 0; i < 3; i++) expect(relativeError(await ours[i].data(), await reference[i].data())).toBeLessThan(1e-5);

    const y = bn.forward(x, trainingContext(state));
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    expect(relativeError(await mean.data(), await beta.data())).toBeLessThan(1e-5);
    expect(relativeError(await tf.sqrt(variance).data(), await tf.abs(gamma).data())).toBeLessThan(1e-3);

    // Running statistics: momentum 0.1, unbiased variance (n = 16 values per channel).
    const updates = ctx.bufferUpdates;
    const xm = tf.moments(x, [0, 1, 2]);
    const wantMean = tf.mul(xm.mean, 0.1);
    const wantVar = tf.add(0.9, tf.mul(xm.variance, (0.1 * 16) / 15));
    expect(relativeError(await updates.get('bn.running_mean')!.data(), await wantMean.data())).toBeLessThan(1e-6);
    expect(relativeError(await updates.get('bn.running_var')!.data(), await wantVar.data())).toBeLessThan(1e-6);
  });

  it('batch norm eval mode uses running statistics', async () => {
    const bn = new BatchNorm('bn', 2);
    const state = initModel([bn], 0);
    state.buffers['bn.running_mean'].assign(tf.tensor1d([1, -1]));
    state.buffers['bn.running_var'].assign(tf.tensor1d([4, 0.25]));
    const y = bn.forward(tf.tensor2d([[3, 0]]), evalContext(state));
    const got = await y.data();
    expect(got[0]).toBeCloseTo(2 / Math.sqrt(4 + 1e-5), 5);
    expect(got[1]).toBeCloseTo(1 / Math.sqrt(0.25 + 1e-5), 5);
  });

  it('linear layer is x W + b', async () => {
    const lin = new Linear('fc', 2, 3);
    const state = initModel([lin], 5);
    const w = (await state.params['fc.weight'].array()) as number[][];
    const b = (await state.params['fc.bias'].array()) as number[];
    const y = (await lin.forward(tf.tensor2d([[1, 2]]), evalContext(state)).array()) as number[][];
    for (let j = 0; j < 3; j++) expect(y[0][j]).toBeCloseTo(w[0][j] + 2 * w[1][j] + b[j], 5);
    // PyTorch's default init bound 1/sqrt(fan_in)
    for (const v of [...w.flat(), ...b]) expect(Math.abs(v)).toBeLessThanOrEqual(1 / Math.sqrt(2));
  });

  it('backbones produce pooled features of their declared size, for both stems', () => {
    for (const spec of ['resnet-small-cifar', 'resnet-small-imagenet']) {
      const net = makeBackbone(spec);
      const state = initModel([net], 0);
      const ctx: ForwardContext = trainingContext(state);
      const y = net.forward(randomTensor([2, 32, 32, 3], 3), ctx);
      expect(y.shape).toEqual([2, net.featureDim]);
      // one running-statistics update per batch norm buffer
      expect(ctx.bufferUpdates.size).toBe(Object.keys(state.buffers).length);
    }
    expect(() => makeBackbone('resnet34')).toThrow(/valid: resnet18/);
  });

  it('MLP heads: Linear-BN-ReLU hidden layers, plain last layer', () => {
    const head = mlpHead('projector', [8, 16, 4]);
    const names = head.params().map((p) => p.name);
    expect(names).toEqual([
      'projector.0.weight',
      'projector.0.bias',
      'projector.1.weight',
      'projector.1.bias',
      'projector.3.weight',
      'projector.3.bias',
    ]);
    const state = initModel([head], 0);
    expect(head.forward(randomTensor([5, 8], 4), trainingContext(state)).shape).toEqual([5, 4]);
  });

  it('parameter trees: copies are independent, EMA mixes them', async () => {
    const lin = new Linear('fc', 2, 2);
    const online = initModel([lin], 1);
    const target = copyModel(online);
    online.params['fc.weight'].assign(tf.onesLike(online.params['fc.weight']));
    const before = (await readTree(target.params))['fc.weight'];
    expect(Array.from(before)).not.toEqual([1, 1, 1, 1]);
    emaUpdate(target, online, 0.75);
    const after = (await readTree(target.params))['fc.weight'];
    after.forEach((v, i) => expect(v).toBeCloseTo(0.75 * before[i] + 0.25, 6));
  });
});

describe.each(await backendsUnderTest('cpu'))('batch norm run twice in one step (%s backend)', (backend) => {
  it('updates running statistics in sequence and frees the intermediate update', async () => {
    await initBackend({ backend });
    const bn = new BatchNorm('bn', 2);
    const state = initModel([bn], 0);
    const ctx = trainingContext(state);
    const a = tf.tensor2d([
      [1, 2],
      [3, 6],
    ]);
    const b = tf.tensor2d([
      [5, 0],
      [7, 2],
    ]);
    bn.forward(a, ctx);
    const before = tf.memory().numTensors;
    bn.forward(b, ctx);
    // mean after a: 0.9 * 0 + 0.1 * [2, 4]; after b: 0.9 * that + 0.1 * [6, 1]
    const mean = await ctx.bufferUpdates.get('bn.running_mean')!.data();
    expect(mean[0]).toBeCloseTo(0.9 * 0.2 + 0.6, 6);
    expect(mean[1]).toBeCloseTo(0.9 * 0.4 + 0.1, 6);
    // the second forward replaced the two pending updates instead of leaking them (its output y remains)
    expect(tf.memory().numTensors - before).toBe(1);
  });
});
