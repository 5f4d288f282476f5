import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSynthetic } from '../datasets/synthetic.js';
import type { Dataset } from '../datasets/types.js';
import { cropsFor, embed } from '../src/eval/embed.js';
import { AugmentPool } from '../datasets/augment/augment_pool.js';
import { getMethod } from '../methods/registry.js';
import { SslModel } from '../src/model/ssl_model.js';
import { initBackend } from '../engine/backends/select.js';
import { Rng } from '../engine/random.js';
import { greyViews } from './helpers.js';

let data: Dataset;
let model: SslModel;
beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  data = loadSynthetic({ root: path.join(os.tmpdir(), 'ssl-budget-bench-tests'), seed: 0, train: 40, test: 10 });
  model = new SslModel({ ...getMethod('emp-ssl'), projector: [64, 32] }, 'resnet-small-cifar', 3, { inChannels: 1 });
});

describe('evaluation embeddings', () => {
  const recipe = () => greyViews(getMethod('emp-ssl')).recipe;

  it('backbone features and EMP-SSL pre-features have the right sizes', async () => {
    const images = data.test.readImages([0, 1, 2]);
    const backbone = await embed(model, images, 3, 32, 32, { layer: 'backbone', patches: null, recipe: recipe(), rng: new Rng(1) });
    expect(backbone.length).toBe(3 * model.backbone.featureDim);
    const pre = await embed(model, images, 3, 32, 32, { layer: 'pre-feature', patches: null, recipe: recipe(), rng: new Rng(1) });
    expect(pre.length).toBe(3 * 64);
    expect(Math.min(...pre)).toBeGreaterThanOrEqual(0); // after the ReLU
  });

  it('the centre view is deterministic and per image (eval-mode batch norm)', async () => {
    const both = await embed(model, data.test.readImages([0, 1]), 2, 32, 32, {
      layer: 'backbone',
      patches: null,
      recipe: recipe(),
      rng: new Rng(1),
    });
    const one = await embed(model, data.test.readImages([0]), 1, 32, 32, {
      layer: 'backbone',
      patches: null,
      recipe: recipe(),
      rng: new Rng(99),
    });
    const d = model.backbone.featureDim;
    for (let i = 0; i < d; i++) expect(both[i]).toBeCloseTo(one[i], 5);
  });

  it('a bag of K patches averages random patches: different from the centre view, reproducible by seed', async () => {
    const images = data.test.readImages([4]);
    const opts = { layer: 'backbone' as const, recipe: recipe() };
    const centre = await embed(model, images, 1, 32, 32, { ...opts, patches: null, rng: new Rng(1) });
    const bagA = await embed(model, images, 1, 32, 32, { ...opts, patches: 8, rng: new Rng(5) });
    const bagB = await embed(model, images, 1, 32, 32, { ...opts, patches: 8, rng: new Rng(5) });
    const bagC = await embed(model, images, 1, 32, 32, { ...opts, patches: 8, rng: new Rng(6) });
    expect(bagA).toEqual(bagB);
    expect(bagA).not.toEqual(bagC);
    expect(bagA).not.toEqual(centre);
    expect(bagA.every(Number.isFinite)).toBe(true);
  });

  it('bag patches cut on worker threads are the ones cut on this thread', async () => {
    const images = data.test.readImages([1, 2, 3]);
    const opts = { layer: 'backbone' as const, recipe: recipe(), patches: 4 };
    const pool = new AugmentPool(1);
    try {
      const inline = await cropsFor(images, 3, 32, 32, { ...opts, rng: new Rng(7) });
      const onWorker = await cropsFor(images.slice(), 3, 32, 32, { ...opts, rng: new Rng(7) }, pool);
      expect(onWorker.shape).toEqual([12, 32, 32, 1]);
      expect(Buffer.from(onWorker.data.buffer).equals(Buffer.from(inline.data.buffer))).toBe(true);
    } finally {
      await pool.close();
    }
  });
});
