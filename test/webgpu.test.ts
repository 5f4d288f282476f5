/**
 * Every method on the webgpu backend (through lavapipe on a CPU-only machine) against the cpu backend:
 * one training step from the same initial weights on the same crops, then the bench command end to end
 * with --backend=webgpu. Sizes are tiny: lavapipe runs convolutions at about 1 GFLOP/s.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { augmentBatch, type AugmentedBatch } from '../datasets/augment/pipeline.js';
import { adaptRecipe } from '../datasets/augment/recipes.js';
import { loadSynthetic } from '../datasets/synthetic.js';
import type { MethodConfig } from '../methods/method.js';
import { getMethod, METHODS } from '../methods/registry.js';
import { SslModel } from '../src/model/ssl_model.js';
import { initBackend } from '../engine/backends/select.js';
import { readTree } from '../engine/nn/params.js';
import { Rng } from '../engine/random.js';
import { readRows } from '../src/results/store.js';
import { flatTree, relativeError, smallHeads, webgpuAvailable } from './helpers.js';
import { requires } from './requirements.js';

const WEBGPU = await webgpuAvailable();
const ROOT = path.resolve(import.meta.dirname, '..');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-webgpu-'));
const IMAGES = 4;
/** VICReg's statistics are over the batch: with 4 images (unbiased over 3) its variance hinge divides by
 * near-zero standard deviations and amplifies float32 rounding, so it gets 8. */
const imagesFor = (name: string) => (name === 'vicreg' ? 8 : IMAGES);

/** Small heads and half-size crops (of the grey synthetic images): the cpu reference is slow. */
function small(method: MethodConfig): MethodConfig {
  return { ...smallHeads(method), recipe: adaptRecipe(method.recipe, 16, 1) };
}

/** One step on `backend`: the loss and what the step changed in every parameter (the optimizer applied to the gradients). */
async function oneStep(backend: 'cpu' | 'webgpu', method: MethodConfig, batch: AugmentedBatch, images: number) {
  await initBackend({ backend });
  const model = new SslModel(method, 'resnet-small-cifar', 1, { inChannels: 1, classes: 10 });
  try {
    const before = await readTree(model.state.params);
    const loss = await model.step(
      batch,
      images,
      0.5,
      Int32Array.from({ length: images }, (_, i) => i % 10),
    );
    const after = await readTree(model.state.params);
    const update = Object.fromEntries(Object.entries(after).map(([n, v]) => [n, v.map((x, i) => x - before[n][i])]));
    return { loss, update: flatTree(update) };
  } finally {
    model.dispose();
  }
}

const WEBGPU_ADAPTER = requires(
  'a WebGPU adapter',
  WEBGPU,
  'Dawn (the webgpu package) with Mesa >= 25 lavapipe: apt-get install -t bookworm-backports mesa-vulkan-drivers',
);

WEBGPU_ADAPTER.describe('webgpu backend', () => {
  let crops: (method: MethodConfig, images: number) => AugmentedBatch;
  beforeAll(() => {
    const data = loadSynthetic({ root: path.join(os.tmpdir(), 'ssl-budget-bench-tests'), seed: 0, train: 40, test: 10 });
    crops = (method, images) => augmentBatch(data.train.readImages([...Array(images).keys()]), images, 32, 32, method.recipe, new Rng(2));
  });

  // The update is SGD's or LARS's first step on the gradients, so it agrees only if every gradient does
  // (1e-3, the project's gradient tolerance; the loss is a forward pass: 1e-4).
  it.each(Object.keys(METHODS).filter((m) => getMethod(m).role !== 'floor'))(
    '%s: one step matches the cpu backend (loss, every parameter update)',
    async (name) => {
      const method = small(getMethod(name, name.startsWith('emp-ssl') ? 4 : undefined));
      const images = imagesFor(name);
      const batch = crops(method, images);
      const ref = await oneStep('cpu', method, batch, images);
      const got = await oneStep('webgpu', method, batch, images);
      expect(Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-4);
      expect(relativeError(got.update, ref.update)).toBeLessThan(1e-3);
      expect(ref.update.some((d) => d !== 0)).toBe(true);
    },
  );

  it('npm run bench --backend=webgpu trains every method and records the adapter and its memory figure', () => {
    const suite = path.join(TMP, 'suite.json');
    fs.writeFileSync(
      suite,
      JSON.stringify({
        name: 'webgpu',
        methods: Object.keys(METHODS)
          .filter((m) => m !== 'emp-ssl-infonce' && getMethod(m).role === 'ssl')
          .map((method) => ({ method, batchImages: IMAGES, ...(method === 'emp-ssl' ? { views: 4 } : {}) })),
        datasets: ['synthetic'],
        backbone: 'resnet-small',
        budgets: ['steps:1'],
        evaluation: {
          fractions: [1],
          maxTrainImages: 40,
          maxTestImages: 20,
          linear: { iterations: 10, lr: 0.05 },
          bag: { patches: [], repeats: 1 },
          testCost: { patches: [1], throughputCrops: 4 },
        },
      }),
    );
    const out = path.join(TMP, 'run');
    const r = spawnSync(
      path.join(ROOT, 'node_modules', '.bin', 'tsx'),
      ['bench/bench.ts', `--suite=${suite}`, '--backend=webgpu', `--data-dir=${path.join(TMP, 'data')}`, `--out=${out}`, '--json'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 600_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const rows = readRows(out).filter((row) => row.final);
    expect(rows.map((row) => row.method).sort()).toEqual(['barlow-twins', 'byol', 'emp-ssl', 'mocov2plus', 'simclr', 'swav', 'vicreg']);
    for (const row of rows) {
      expect(row.status, `${row.method}: ${row.error}`).toBe('ok');
      expect(row.steps).toBe(1);
      expect(Number.isFinite(row.loss)).toBe(true);
      expect(row.memory.webgpu_allocated_peak_bytes).toBeGreaterThan(row.memory.tensor_peak_bytes / 2);
      expect(row.memory.gpu_peak_bytes).toBeNull(); // no nvidia-smi here
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.provenance.backend_name).toBe('webgpu');
    expect(manifest.provenance.gpu_adapter).toMatchObject({ vendor: 'mesa', fallback: true });
    expect(manifest.provenance.backend).toMatch(/^tfjs-backend-webgpu on /);
    expect(manifest.rules.memory.webgpu_allocated_peak_bytes).toMatch(/webgpu backend/);
  });
});
