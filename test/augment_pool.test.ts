import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AugmentPool } from '../datasets/augment/augment_pool.js';
import { augmentBatch } from '../datasets/augment/pipeline.js';
import { adaptRecipe, soloLearnCifar, swavMultiCrop } from '../datasets/augment/recipes.js';
import { loadSynthetic } from '../datasets/synthetic.js';
import { Rng } from '../engine/random.js';
import { batchIndices, InputQueue } from '../src/runner/input_queue.js';
import { randomCifarImages } from '../src/cases/inputs.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const pools: AugmentPool[] = [];
const pool = (workers: number) => {
  const p = new AugmentPool(workers);
  pools.push(p);
  return p;
};
afterAll(async () => {
  for (const p of pools) await p.close();
});

describe('AugmentPool', () => {
  it('cuts on worker threads exactly the crops augmentBatch cuts on this thread, for any worker count', async () => {
    const images = randomCifarImages(6, new Rng(1));
    for (const recipe of [soloLearnCifar(), swavMultiCrop()]) {
      const inline = [11, 12, 13].map((seed) => augmentBatch(images, 6, 32, 32, recipe, new Rng(seed)));
      for (const workers of [1, 2]) {
        const p = pool(workers);
        const got = await Promise.all([11, 12, 13].map((seed) => p.augment(images.slice(), 6, 32, 32, recipe, seed)));
        got.forEach((b, i) => {
          expect(b.crops).toBe(inline[i].crops);
          b.views.forEach((v, j) => {
            expect(v.shape).toEqual(inline[i].views[j].shape);
            expect(Buffer.from(v.data.buffer).equals(Buffer.from(inline[i].views[j].data.buffer))).toBe(true);
          });
        });
      }
    }
  });

  it('does not detach a buffer the caller shares (a view into a larger array is copied before it moves)', async () => {
    const all = randomCifarImages(4, new Rng(2));
    const view = all.subarray(0, 2 * 32 * 32 * 3);
    await pool(1).augment(view, 2, 32, 32, soloLearnCifar(), 5);
    expect(all.byteLength).toBe(4 * 32 * 32 * 3);
    expect(view.byteLength).toBe(2 * 32 * 32 * 3);
  });

  it('rejects a bad request with the reason, and refuses a bad worker count', async () => {
    await expect(pool(1).augment(new Uint8Array(10), 2, 32, 32, soloLearnCifar(), 1)).rejects.toThrow(
      /augmentation failed: .*not 2 images/,
    );
    expect(() => new AugmentPool(-1)).toThrow(/whole number/);
  });

  it('keeps the process alive while a request is pending, and lets it exit once idle', () => {
    // A backend with nothing else on the event loop (webgpu) once exited mid-trial, status 0, while its
    // step awaited a batch: a pending promise alone does not keep Node running.
    const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pool-')), 'pending.mts');
    const source = [
      `import { AugmentPool } from ${JSON.stringify(path.join(ROOT, 'datasets/augment/augment_pool.ts'))};`,
      `import { soloLearnCifar } from ${JSON.stringify(path.join(ROOT, 'datasets/augment/recipes.ts'))};`,
      'const pool = new AugmentPool(1);',
      'const b = await pool.augment(new Uint8Array(2 * 32 * 32 * 3), 2, 32, 32, soloLearnCifar(), 3);',
      "console.log('crops', b.crops);",
    ].join('\n');
    fs.writeFileSync(script, source);
    const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.stdout).toContain('crops 4');
    expect(r.status).toBe(0); // exits by itself: the idle worker does not hold the process open
  });
});

describe('InputQueue', () => {
  it('gives each step the same batch and labels prefetched on workers as made inline when asked', async () => {
    const dataset = loadSynthetic({ root: path.join(os.tmpdir(), 'ssl-budget-bench-tests'), seed: 0, train: 50, test: 10 });
    const recipe = adaptRecipe(soloLearnCifar(), 32, 1);
    const run = async (workers: number, depth: number) => {
      const q = new InputQueue(pool(workers), dataset, new Rng(7), 8, recipe, true, depth);
      const out = [];
      for (let step = 0; step < 8; step++) out.push(await q.take(step, step * 8));
      q.clear();
      return out;
    };
    const inline = await run(0, 0);
    const ahead = await run(2, 3);
    // Step 6 crosses into the second epoch (50 images): its indices come from the next permutation.
    expect(Array.from(batchIndices(new Rng(7), 50, 48, 8)).slice(2)).not.toEqual(Array.from(batchIndices(new Rng(7), 50, 0, 8)).slice(2));
    ahead.forEach((a, s) => {
      expect(Array.from(a.labels!)).toEqual(Array.from(inline[s].labels!));
      expect(Buffer.from(a.batch.views[0].data.buffer).equals(Buffer.from(inline[s].batch.views[0].data.buffer))).toBe(true);
    });
    expect(Buffer.from(inline[0].batch.views[0].data.buffer).equals(Buffer.from(inline[1].batch.views[0].data.buffer))).toBe(false);
  });
});
