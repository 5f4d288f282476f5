import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CIFAR100_DIR, CIFAR10_DIR, loadCifar10, loadCifar100 } from '../datasets/cifar.js';
import { ensureSynthetic, loadSynthetic, SYNTHETIC_CLASSES } from '../datasets/synthetic.js';
import { DatasetError } from '../datasets/types.js';
import { cifarRecord, fakeCifar10 } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-datasets-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const record = cifarRecord;

describe('CIFAR binary loader', () => {
  it('reads labels and converts planar records to NHWC', () => {
    const root = path.join(tmp, 'c10');
    fakeCifar10(root, [record([3], 1), record([7], 2)], [record([9], 3)]);
    const ds = loadCifar10(root);
    expect(ds.classes).toHaveLength(10);
    expect(ds.imageShape).toEqual([32, 32, 3]);
    expect([ds.train.size, ds.test.size]).toEqual([2, 1]);
    expect(Array.from(ds.train.labels)).toEqual([3, 7]);
    const [img] = [ds.train.readImages([1])];
    // pixel p, channel c comes from planar byte c * 1024 + p of record 1 (seed 2)
    for (const [p, c] of [
      [0, 0],
      [5, 1],
      [1023, 2],
      [517, 2],
    ])
      expect(img[3 * p + c]).toBe(((c * 1024 + p) * 7 + 26) % 256);
    expect(() => ds.train.readImages([2])).toThrow(/outside 0\.\.1/);
  });

  it('names the file and the problem: truncated, bad label, missing split, wrong class list', () => {
    const root = path.join(tmp, 'bad');
    fakeCifar10(root, [record([1], 1)], [record([1], 1)]);
    const batch = path.join(root, CIFAR10_DIR, 'data_batch_1.bin');
    fs.writeFileSync(batch, record([1], 1).subarray(0, 3000));
    expect(() => loadCifar10(root)).toThrow(DatasetError);
    expect(() => loadCifar10(root)).toThrow(/data_batch_1\.bin is 3000 bytes, not a whole number of 3073-byte records/);
    fs.writeFileSync(batch, record([12], 1));
    expect(() => loadCifar10(root)).toThrow(/record 0 has label 12, expected 0\.\.9/);
    fs.writeFileSync(batch, record([1], 1));
    fs.rmSync(path.join(root, CIFAR10_DIR, 'test_batch.bin'));
    expect(() => loadCifar10(root)).toThrow(/missing .*test_batch\.bin/);
    fs.writeFileSync(path.join(root, CIFAR10_DIR, 'test_batch.bin'), record([1], 1));
    fs.writeFileSync(path.join(root, CIFAR10_DIR, 'batches.meta.txt'), 'only\ntwo\n');
    expect(() => loadCifar10(root)).toThrow(/lists 2 class names, expected 10/);
    expect(() => loadCifar10(path.join(tmp, 'nowhere'))).toThrow(/no CIFAR-10 at .*npm run data -- fetch cifar10/);
  });

  it('CIFAR-100 exposes fine (default) and coarse labels', () => {
    const dir = path.join(tmp, 'c100', CIFAR100_DIR);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'train.bin'), Buffer.concat([record([4, 42], 1), record([19, 99], 2)]));
    fs.writeFileSync(path.join(dir, 'test.bin'), record([0, 5], 3));
    fs.writeFileSync(path.join(dir, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, i) => `f${i}`).join('\n'));
    fs.writeFileSync(path.join(dir, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `c${i}`).join('\n'));
    const fine = loadCifar100(path.join(tmp, 'c100'));
    expect(fine.name).toBe('cifar100');
    expect(Array.from(fine.train.labels)).toEqual([42, 99]);
    const coarse = loadCifar100(path.join(tmp, 'c100'), 'coarse');
    expect(Array.from(coarse.train.labels)).toEqual([4, 19]);
    expect(coarse.classes[19]).toBe('c19');
    // pixels start after both label bytes
    expect(fine.test.readImages([0])[0]).toBe((0 + 39) % 256);
  });
});

describe('synthetic dataset', () => {
  it('is written as IDX files, one grey channel, balanced, nothing half-written left', () => {
    const ds = loadSynthetic({ root: tmp, seed: 1, train: 40, test: 20 });
    expect(ds.name).toBe('synthetic');
    expect(ds.classes).toEqual(SYNTHETIC_CLASSES);
    expect(ds.imageShape).toEqual([32, 32, 1]);
    expect([ds.train.size, ds.test.size]).toEqual([40, 20]);
    const counts = new Array(10).fill(0);
    for (const l of ds.train.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(4));
    expect(fs.existsSync(path.join(tmp, 'synthetic-v2-s1-40-20', 'train-images-idx3-ubyte'))).toBe(true);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('.synthetic-tmp-'))).toEqual([]);
  });

  it('is reproducible from its seed and reused once built', () => {
    const a = ensureSynthetic({ root: path.join(tmp, 'a'), seed: 5, train: 20, test: 10 });
    const b = ensureSynthetic({ root: path.join(tmp, 'b'), seed: 5, train: 20, test: 10 });
    const c = ensureSynthetic({ root: path.join(tmp, 'c'), seed: 6, train: 20, test: 10 });
    const file = (dir: string) => path.join(dir, 'train-images-idx3-ubyte');
    expect(fs.readFileSync(file(a)).equals(fs.readFileSync(file(b)))).toBe(true);
    expect(fs.readFileSync(file(a)).equals(fs.readFileSync(file(c)))).toBe(false);
    const before = fs.statSync(file(a)).mtimeMs;
    ensureSynthetic({ root: path.join(tmp, 'a'), seed: 5, train: 20, test: 10 });
    expect(fs.statSync(file(a)).mtimeMs).toBe(before);
  });

  it('standardises every image: brightness and contrast tell neither the image nor the class', () => {
    const ds = loadSynthetic({ root: tmp, seed: 2, train: 400, test: 10 });
    const imgs = ds.train.readImages(Array.from({ length: 400 }, (_, i) => i));
    const means: number[] = [];
    const sds: number[] = [];
    for (let i = 0; i < 400; i++) {
      const px = Array.from(imgs.subarray(i * 1024, (i + 1) * 1024));
      const m = px.reduce((a, b) => a + b, 0) / px.length;
      means.push(m);
      sds.push(Math.sqrt(px.reduce((a, b) => a + (b - m) ** 2, 0) / px.length));
    }
    // Mean 0.5 and sd 0.2 of 255 before rounding and clipping at 0 and 255 (clipping a small bright shape
    // lowers its image's sd: the unstandardised levels spread over the whole 0..255 range).
    for (const m of means) expect(Math.abs(m - 127.5)).toBeLessThan(8);
    for (const s of sds) expect(s).toBeGreaterThan(30);
    for (const s of sds) expect(s).toBeLessThan(52);
    // ... while the shape still varies: images of one class differ pixel by pixel.
    expect(imgs.subarray(0, 1024)).not.toEqual(imgs.subarray(10 * 1024, 11 * 1024));
  });

  it('rejects sizes smaller than the class count', () => {
    expect(() => ensureSynthetic({ root: tmp, train: 5 })).toThrow(/train size must be an integer >= 10/);
  });
});
