import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backends/select.js';
import { knnAccuracy, type Features } from '../src/eval/knn.js';
import { linearProbe } from '../src/eval/linear_probe.js';
import { logisticProbe } from '../src/eval/logistic_probe.js';
import { evalSplits } from '../src/eval/splits.js';
import { Rng } from '../engine/random.js';
import type { Dataset } from '../datasets/types.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

/** `perClass` points around one centre per class (well separated when noise is small). */
function clusters(classes: number, perClass: number, dim: number, noise: number, rng: Rng) {
  const centres = Array.from({ length: classes }, () => Float32Array.from({ length: dim }, () => rng.normal()));
  const n = classes * perClass;
  const data = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % classes;
    for (let j = 0; j < dim; j++) data[i * dim + j] = centres[labels[i]][j] + noise * rng.normal();
  }
  return { x: { data, count: n, dim } as Features, y: labels };
}

describe('weighted kNN', () => {
  it('classifies separable clusters perfectly and noise at chance', async () => {
    const rng = new Rng(1);
    const bank = clusters(5, 40, 16, 0.1, rng.fork('c'));
    const query = clusters(5, 10, 16, 0.1, rng.fork('c')); // same centres (same fork), new noise below
    const acc = await knnAccuracy(bank.x, bank.y, query.x, query.y, [1, 20, 200], 0.07, 5);
    expect(acc[1]).toBe(1);
    expect(acc[20]).toBe(1);
    expect(acc[200]).toBe(1);
    // Random labels on the bank: accuracy near chance (1/5).
    const shuffled = bank.y.map(() => rng.int(5));
    const chance = await knnAccuracy(bank.x, shuffled, query.x, query.y, [20], 0.07, 5);
    expect(chance[20]).toBeLessThan(0.5);
  });

  it('weights neighbours by exp(sim / T): one very close neighbour outvotes two far ones at low temperature', async () => {
    const bank: Features = { data: Float32Array.from([1, 0, 0.6, 0.8, 0.6, 0.8]), count: 3, dim: 2 };
    const labels = Int32Array.from([0, 1, 1]);
    const query: Features = { data: Float32Array.from([1, 0.05]), count: 1, dim: 2 };
    expect((await knnAccuracy(bank, labels, query, Int32Array.from([0]), [3], 0.07, 2))[3]).toBe(1);
    // At a high temperature the weights even out and the two-vote class wins.
    expect((await knnAccuracy(bank, labels, query, Int32Array.from([0]), [3], 100, 2))[3]).toBe(0);
  });
});

describe('linear probe', () => {
  it('learns separable classes and picks the weight decay on validation, not test', async () => {
    const rng = new Rng(2);
    const make = (n: number) => clusters(4, n, 8, 0.3, rng.fork('centres'));
    const train = make(30);
    const val = make(10);
    const test = make(10);
    const r = await linearProbe(train, val, [test], 4, { iterations: 100, lr: 0.05, weightDecays: [0, 1e-3, 10] });
    expect(r.tests[0]).toBeGreaterThan(0.95);
    expect(r.val).toBeGreaterThan(0.95);
    expect(r.weightDecay).not.toBe(10); // a huge decay underfits, validation sees it
    // Scrambled validation labels cannot help: the choice depends on val only, so test labels never matter.
    const wrongTest = { x: test.x, y: test.y.map((l) => (l + 1) % 4) };
    const r2 = await linearProbe(train, val, [wrongTest], 4, { iterations: 100, lr: 0.05, weightDecays: [0, 1e-3, 10] });
    expect(r2.weightDecay).toBe(r.weightDecay);
    expect(r2.tests[0]).toBeLessThan(0.1);
  });
});

describe('L-BFGS logistic probe', () => {
  it('reaches the optimum the Adam probe approaches with many iterations (same objective)', async () => {
    const rng = new Rng(5);
    const make = (n: number) => clusters(3, n, 6, 1.2, rng.fork('centres')); // overlapping classes
    const [train, val, test] = [make(70), make(20), make(40)];
    const lbfgs = await logisticProbe(train, val, [test], 3, [1e-2]);
    const adam = await linearProbe(train, val, [test], 3, { iterations: 3000, lr: 0.02, weightDecays: [1e-2] });
    expect(lbfgs.tests[0]).toBeGreaterThan(0.5);
    expect(lbfgs.tests[0]).toBeLessThan(1);
    expect(Math.abs(lbfgs.tests[0] - adam.tests[0])).toBeLessThanOrEqual(1 / 120 + 1e-9); // at most one of 120 test rows
    expect(Math.abs(lbfgs.val - adam.val)).toBeLessThanOrEqual(1 / 60 + 1e-9);
  });

  it('picks the weight decay on validation, not test', async () => {
    const rng = new Rng(2);
    const make = (n: number) => clusters(4, n, 8, 0.3, rng.fork('centres'));
    const [train, val, test] = [make(30), make(10), make(10)];
    const r = await logisticProbe(train, val, [test], 4, [0, 1e-3, 100]);
    expect(r.tests[0]).toBeGreaterThan(0.95);
    expect(r.weightDecay).not.toBe(100);
    const wrongTest = { x: test.x, y: test.y.map((l) => (l + 1) % 4) };
    expect((await logisticProbe(train, val, [wrongTest], 4, [0, 1e-3, 100])).weightDecay).toBe(r.weightDecay);
  });
});

describe('evaluation splits', () => {
  const labels = Int32Array.from({ length: 500 }, (_, i) => i % 10);
  const dataset = {
    name: 'fake',
    classes: Array.from({ length: 10 }, String),
    imageShape: [32, 32, 3],
    train: { size: 500, labels, readImages: () => new Uint8Array() },
    test: { size: 100, labels: labels.slice(0, 100), readImages: () => new Uint8Array() },
  } as unknown as Dataset;

  it('carve validation from the training split, disjoint, fixed per dataset, with caps', () => {
    const a = evalSplits(dataset, { valFraction: 0.1, maxTrainImages: 300, maxTestImages: 50 });
    const b = evalSplits(dataset, { valFraction: 0.1, maxTrainImages: 300, maxTestImages: 50 });
    expect(a).toEqual(b);
    expect(a.val.indices.length).toBe(30);
    expect(a.train.indices.length).toBe(270);
    expect(a.test.indices.length).toBe(50);
    const train = new Set(a.train.indices);
    expect([...a.val.indices].some((i) => train.has(i))).toBe(false);
    expect([...a.train.indices].every((i, k) => a.train.labels[k] === labels[i])).toBe(true);
    const full = evalSplits(dataset, { valFraction: 0.2, maxTrainImages: null, maxTestImages: null });
    expect(full.train.indices.length + full.val.indices.length).toBe(500);
    expect(full.test.indices.length).toBe(100);
  });
});
