import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagenet100Classes, loadImageNet100, prepareImageNet100 } from '../datasets/imagenet100.js';
import { loadTinyImageNet, TINY_IMAGENET_DIR } from '../datasets/tiny_imagenet.js';

/** Small JPEG datasets laid out as the official ones, with images this test draws. */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-jpeg-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A w x h JPEG whose left half is `color` and right half black. */
async function writeJpeg(file: string, w: number, h: number, color: [number, number, number]): Promise<void> {
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w / 2; x++) raw.set(color, (y * w + x) * 3);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality: 100 })
    .toFile(file);
}

const WNIDS = ['n02000003', 'n01000001', 'n01500002'];
const COLORS: [number, number, number][] = [
  [250, 0, 0],
  [0, 250, 0],
  [0, 0, 250],
];

async function fakeTiny(root: string): Promise<string> {
  const dir = path.join(root, TINY_IMAGENET_DIR);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'wnids.txt'), `${WNIDS.join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'words.txt'), WNIDS.map((w, i) => `${w}\tthing${i}, other`).join('\n'));
  const ann: string[] = [];
  for (const [i, wnid] of WNIDS.entries()) {
    for (let k = 0; k < 2; k++) await writeJpeg(path.join(dir, 'train', wnid, 'images', `${wnid}_${k}.JPEG`), 64, 64, COLORS[i]);
    await writeJpeg(path.join(dir, 'val', 'images', `val_${i}.JPEG`), 64, 64, COLORS[i]);
    ann.push(`val_${i}.JPEG\t${wnid}\t0\t0\t10\t10`);
  }
  fs.writeFileSync(path.join(dir, 'val', 'val_annotations.txt'), `${ann.join('\n')}\n`);
  return dir;
}

describe('Tiny-ImageNet', () => {
  let root = '';
  beforeAll(async () => {
    root = path.join(tmp, 'tiny');
    await fakeTiny(root);
  });

  it('decodes into a cache once, sorted wnid labels, val as test, read back by offset', async () => {
    const progress: string[] = [];
    const ds = await loadTinyImageNet(root, { resolution: 16, onProgress: (s, d, t) => progress.push(`${s}:${d}/${t}`) });
    expect(ds.imageShape).toEqual([16, 16, 3]);
    expect([ds.train.size, ds.test.size]).toEqual([6, 3]);
    // sorted: n01000001 (green) = 0, n01500002 (blue) = 1, n02000003 (red) = 2
    expect(ds.classes).toEqual(['thing1', 'thing2', 'thing0']);
    expect(Array.from(ds.test.labels)).toEqual([2, 0, 1]);
    expect(progress).toContain('train:6/6');
    const [val0] = [ds.test.readImages([0])];
    expect(val0[0]).toBeGreaterThan(200); // red left half, NHWC
    expect(val0[1]).toBeLessThan(40);
    expect(val0[(8 * 16 + 15) * 3]).toBeLessThan(40); // right half black
    // Second open uses the cache (no decoding).
    const again: string[] = [];
    await loadTinyImageNet(root, { resolution: 16, onProgress: (s) => again.push(s) });
    expect(again).toEqual([]);
  });

  it('names a corrupt JPEG and a listed class without a folder; leaves no half-built cache', async () => {
    const bad = path.join(tmp, 'tiny-bad');
    const dir = await fakeTiny(bad);
    fs.writeFileSync(path.join(dir, 'train', WNIDS[1], 'images', `${WNIDS[1]}_1.JPEG`), Buffer.from([0xff, 0xd8, 0xff, 0x00, 1, 2, 3]));
    await expect(loadTinyImageNet(bad, { resolution: 16 })).rejects.toThrow(/cannot decode .*n01000001_1\.JPEG.*corrupt/);
    const cache = path.join(dir, 'cache-16');
    expect(fs.existsSync(cache) ? fs.readdirSync(cache) : []).toEqual([]); // no split, no temporary folder
    fs.rmSync(path.join(dir, 'train', WNIDS[1]), { recursive: true });
    await expect(loadTinyImageNet(bad, { resolution: 16 })).rejects.toThrow(/wnids\.txt lists n01000001 but .* does not exist/);
  });
});

describe('ImageNet-100', () => {
  it('ships the 100-class list', () => {
    const classes = imagenet100Classes();
    expect(classes).toHaveLength(100);
    expect(new Set(classes).size).toBe(100);
    for (const c of classes) expect(c).toMatch(/^n\d{8}$/);
  });

  it('prepares from a local ImageNet with a flat val folder and a labels file', async () => {
    const imagenet = path.join(tmp, 'ilsvrc');
    const wnids = [...imagenet100Classes()].sort();
    // every class needs a train folder; give the first two images, the rest one each
    for (const [i, w] of wnids.entries())
      await writeJpeg(path.join(imagenet, 'train', w, `${w}_0.JPEG`), 20, 12, i === 0 ? COLORS[0] : COLORS[1]);
    await writeJpeg(path.join(imagenet, 'train', 'n09999999', 'x.JPEG'), 8, 8, COLORS[2]); // not in the subset
    await writeJpeg(path.join(imagenet, 'val', 'ILSVRC2012_val_00000001.JPEG'), 12, 20, COLORS[0]);
    await writeJpeg(path.join(imagenet, 'val', 'ILSVRC2012_val_00000002.JPEG'), 12, 20, COLORS[2]);
    const labels = path.join(tmp, 'val_labels.csv');
    fs.writeFileSync(
      labels,
      `ImageId,PredictionString\nILSVRC2012_val_00000001,${wnids[5]} 1 2 3 4\nILSVRC2012_val_00000002,n09999999 1 2 3 4\n`,
    );
    const root = path.join(tmp, 'prepared');
    await expect(prepareImageNet100({ imagenetDir: imagenet, root, resolution: 8 })).rejects.toThrow(/flat .*--val-labels/);
    await prepareImageNet100({ imagenetDir: imagenet, root, resolution: 8, valLabels: labels });
    const ds = loadImageNet100(root, 8);
    expect([ds.train.size, ds.test.size]).toEqual([100, 1]);
    expect(Array.from(ds.test.labels)).toEqual([5]);
    expect(ds.imageShape).toEqual([8, 8, 3]);
    expect(() => loadImageNet100(root, 224)).toThrow(/not prepared .*prepare imagenet100 --imagenet-dir/);
  });
});
