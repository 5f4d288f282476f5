import { describe, expect, it } from 'vitest';
import { augmentBatch, randomResizedCropBox } from '../datasets/augment/pipeline.js';
import { empSslPatches, soloLearnCifar, swavMultiCrop, type Recipe } from '../datasets/augment/recipes.js';
import { Rng } from '../engine/random.js';

function images(count: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: count * 32 * 32 * 3 }, () => rng.int(256));
}

describe('augmentation pipeline', () => {
  it("EMP-SSL patches are fixed-area squares: a quarter of the image's area", () => {
    const rng = new Rng(1);
    for (let i = 0; i < 50; i++) {
      const box = randomResizedCropBox(32, 32, [0.25, 0.25], [1, 1], rng);
      expect([box.height, box.width]).toEqual([16, 16]);
      expect(box.top >= 0 && box.top <= 16 && box.left >= 0 && box.left <= 16).toBe(true);
    }
  });

  it('random resized crops stay inside the image and near the asked area; impossible ratios fall back to a centre crop', () => {
    const rng = new Rng(2);
    for (let i = 0; i < 200; i++) {
      const b = randomResizedCropBox(32, 32, [0.08, 1], [3 / 4, 4 / 3], rng);
      expect(b.top + b.height).toBeLessThanOrEqual(32);
      expect(b.left + b.width).toBeLessThanOrEqual(32);
      expect((b.height * b.width) / 1024).toBeGreaterThan(0.05);
    }
    expect(randomResizedCropBox(32, 32, [1, 1], [10, 10], rng)).toEqual({ top: 14, left: 0, height: 3, width: 32 });
  });

  it('a spec with no randomness returns the image itself, scaled to [0, 1]', () => {
    const identity: Recipe = {
      name: 'identity',
      source: 'test',
      views: [
        {
          count: 1,
          size: 32,
          crop: { scale: [1, 1], ratio: [1, 1] },
          flip: 0,
          jitter: null,
          grayscale: 0,
          blur: null,
          solarize: 0,
          normalize: { mean: [0, 0, 0], std: [1, 1, 1] },
        },
      ],
    };
    const input = images(2, 3);
    const out = augmentBatch(input, 2, 32, 32, identity, new Rng(4)).views[0].data;
    for (let i = 0; i < input.length; i++) expect(out[i]).toBeCloseTo(input[i] / 255, 6);
  });

  it('multi-crop: one view-major block per spec with the right shapes', () => {
    const out = augmentBatch(images(3, 5), 3, 32, 32, swavMultiCrop(), new Rng(6));
    // solo-learn's CIFAR multi-crop: two 32-pixel groups of one crop (the second solarised) and six 18-pixel crops.
    expect(out.views.map((v) => v.shape)).toEqual([
      [3, 32, 32, 3],
      [3, 32, 32, 3],
      [18, 18, 18, 3],
    ]);
    expect(out.crops).toBe(24);
  });

  it('is seeded: same seed, same crops; another seed, other crops; values normalised', () => {
    const input = images(4, 7);
    const a = augmentBatch(input, 4, 32, 32, empSslPatches(5), new Rng(8)).views[0].data;
    const b = augmentBatch(input, 4, 32, 32, empSslPatches(5), new Rng(8)).views[0].data;
    const c = augmentBatch(input, 4, 32, 32, empSslPatches(5), new Rng(9)).views[0].data;
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.length).toBe(5 * 4 * 32 * 32 * 3);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...a)).toBeLessThanOrEqual(1);
    // Two views of the same image differ (random crops), so the views are real augmentations.
    const plane = 32 * 32 * 3;
    expect(a.subarray(0, plane)).not.toEqual(a.subarray(4 * plane, 5 * plane));
  });

  it('rejects a batch whose size does not match', () => {
    expect(() => augmentBatch(new Uint8Array(10), 1, 32, 32, soloLearnCifar(), new Rng(1))).toThrow(/not 1 images of 32x32x3/);
  });
});
