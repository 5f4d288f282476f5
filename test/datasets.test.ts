import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CIFAR100_DIR, CIFAR10_DIR, loadCifar10, loadCifar100 } from '../datasets/cifar.js';
import { ensureSynthetic, loadSynthetic, SYNTHETIC_CLASSES } from '../datasets/synthetic.js';
import { DatasetError } from '../datasets/types.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-datasets-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A CIFAR-style record: label bytes then 3072 planar pixel bytes with a recognisable pattern. */
function record(labels: number[], seed: number): Buffer {
  const b = Buffer.alloc(labels.length + 3072);
  labels.forEach((l, i) => (b[i] = l));
  for (let i = 0; i < 3072; i++) b[labels.length + i] = (i * 7 + seed * 13) % 256;
  return b;
}

function fakeCifar10(root: string, trainRecords: Buffer[], testRecords: Buffer[], names = 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n'): void {
  const dir = path.join(root, CIFAR10_DIR);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'data_batch_1.bin'), Buffer.concat(trainRecords));
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), Buffer.concat(testRecords));
  fs.writeFileSync(path.join(dir, 'batches.meta.txt'), names);
}

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
  it('is written in CIFAR-10 format, balanced, and read back by the same loader', () => {
    const ds = loadSynthetic({ root: tmp, seed: 1, train: 40, test: 20 });
    expect(ds.name).toBe('synthetic');
    expect(ds.classes).toEqual(SYNTHETIC_CLASSES);
    expect([ds.train.size, ds.test.size]).toEqual([40, 20]);
    const counts = new Array(10).fill(0);
    for (const l of ds.train.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(4));
    expect(fs.existsSync(path.join(tmp, 'synthetic-s1-40-20', CIFAR10_DIR, 'data_batch_1.bin'))).toBe(true);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('.synthetic-tmp-'))).toEqual([]); // nothing half-written left
  });

  it('is reproducible from its seed and reused once built', () => {
    const a = ensureSynthetic({ root: path.join(tmp, 'a'), seed: 5, train: 20, test: 10 });
    const b = ensureSynthetic({ root: path.join(tmp, 'b'), seed: 5, train: 20, test: 10 });
    const c = ensureSynthetic({ root: path.join(tmp, 'c'), seed: 6, train: 20, test: 10 });
    const bytes = (dir: string) => fs.readFileSync(path.join(dir, CIFAR10_DIR, 'data_batch_1.bin'));
    expect(bytes(a).equals(bytes(b))).toBe(true);
    expect(bytes(a).equals(bytes(c))).toBe(false);
    const before = fs.statSync(path.join(a, CIFAR10_DIR, 'data_batch_1.bin')).mtimeMs;
    ensureSynthetic({ root: path.join(tmp, 'a'), seed: 5, train: 20, test: 10 });
    expect(fs.statSync(path.join(a, CIFAR10_DIR, 'data_batch_1.bin')).mtimeMs).toBe(before);
  });

  it('varies colour so that colour alone does not tell the class', () => {
    const ds = loadSynthetic({ root: tmp, seed: 2, train: 400, test: 10 });
    const imgs = ds.train.readImages(Array.from({ length: 400 }, (_, i) => i));
    // Mean brightness per class: spread across classes small next to the spread within a class.
    const perClass: number[][] = Array.from({ length: 10 }, () => []);
    for (let i = 0; i < 400; i++) {
      let s = 0;
      for (let p = 0; p < 3072; p++) s += imgs[i * 3072 + p];
      perClass[ds.train.labels[i]].push(s / 3072);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
    const within = mean(perClass.map(sd));
    const between = sd(perClass.map(mean));
    expect(between).toBeLessThan(within / 2);
  });

  it('rejects sizes smaller than the class count', () => {
    expect(() => ensureSynthetic({ root: tmp, train: 5 })).toThrow(/train size must be an integer >= 10/);
  });
});
