/**
 * The built-in synthetic dataset: no download, generated from a seed, 32x32 grey (one channel), 10 classes.
 *
 * A class is a *shape* (disk, square, triangle, ring, plus, X, horizontal bars, vertical bars,
 * checkerboard, diamond); grey levels, background shading, position, scale, rotation and noise are drawn
 * per image, and every image is then standardised to one mean and contrast.
 *
 * Why grey and standardised: SSL learns by telling an image's views from other images' views. The first
 * version drew a random foreground and background *colour* per image, so two crops of one image matched by
 * colour alone and no method learned shape (PyTorch SimCLR, 60 s: 15-18 % linear, below the untrained
 * network's 19 %). With colour gone and brightness/contrast standardised, what two views of one image
 * share beyond what the augmentations scramble is the shape, which is also the class (the same PyTorch
 * run: untrained 55 % -> SimCLR 82 %).
 *
 * Written as IDX files (the MNIST format, read by datasets/idx.ts) under ROOT/synthetic-v2-s<seed>-<train>-<test>/,
 * built in a temporary folder and renamed into place, so an interrupted build never leaves a half-written dataset.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Rng } from '../engine/random.js';
import { loadIdxDataset, writeIdx } from './idx.js';
import type { Dataset } from './types.js';

export const SYNTHETIC_CLASSES = [
  'disk',
  'square',
  'triangle',
  'ring',
  'plus',
  'x-cross',
  'horizontal-bars',
  'vertical-bars',
  'checkerboard',
  'diamond',
];

const SIDE = 32;
const SUPERSAMPLE = 3; // per axis, for anti-aliased edges

/** Whether shape-space point (u, v) (shape radius 1) lies inside the class's shape. */
const INSIDE: ((u: number, v: number) => boolean)[] = [
  (u, v) => u * u + v * v <= 1,
  (u, v) => Math.max(Math.abs(u), Math.abs(v)) <= 0.8,
  (u, v) => v >= -0.8 && v <= 0.8 && Math.abs(u) <= ((v + 0.8) / 1.6) * 0.95,
  (u, v) => u * u + v * v <= 1 && u * u + v * v >= 0.55 * 0.55,
  (u, v) => (Math.abs(u) <= 0.28 && Math.abs(v) <= 1) || (Math.abs(v) <= 0.28 && Math.abs(u) <= 1),
  (u, v) => {
    const [a, b] = [(u + v) * Math.SQRT1_2, (u - v) * Math.SQRT1_2];
    return (Math.abs(a) <= 0.25 && Math.abs(b) <= 1) || (Math.abs(b) <= 0.25 && Math.abs(a) <= 1);
  },
  (u, v) => Math.max(Math.abs(u), Math.abs(v)) <= 0.9 && Math.floor((v + 0.9) * (5 / 1.8)) % 2 === 0,
  (u, v) => Math.max(Math.abs(u), Math.abs(v)) <= 0.9 && Math.floor((u + 0.9) * (5 / 1.8)) % 2 === 0,
  (u, v) => Math.max(Math.abs(u), Math.abs(v)) <= 0.9 && (Math.floor((u + 0.9) * (4 / 1.8)) + Math.floor((v + 0.9) * (4 / 1.8))) % 2 === 0,
  (u, v) => Math.abs(u) + Math.abs(v) <= 1,
];

/**
 * One grey image (row-major bytes). Foreground and background grey levels, a background gradient and
 * the noise level are drawn per image, then the image is standardised to one mean and contrast: after
 * that, brightness and contrast say nothing about which image a crop came from, and the shape is what
 * two views of one image share beyond what the augmentations scramble.
 */
export function renderSynthetic(label: number, rng: Rng): Uint8Array {
  const background = rng.uniform();
  let foreground = rng.uniform();
  // Keep the shape visible: redraw the level until it differs enough from the background's.
  while (Math.abs(foreground - background) < 0.25) foreground = rng.uniform();
  const gradient = [rng.uniform() - 0.5, rng.uniform() - 0.5].map((g) => g * 0.4); // background shading per pixel span
  const radius = 6 + rng.uniform() * 7;
  const cx = radius + rng.uniform() * (SIDE - 2 * radius);
  const cy = radius + rng.uniform() * (SIDE - 2 * radius);
  const angle = (rng.uniform() - 0.5) * (Math.PI / 6);
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
  const noise = rng.uniform() * 0.08;
  const inside = INSIDE[label];
  const values = new Float64Array(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      let cover = 0;
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const dx = (x + (sx + 0.5) / SUPERSAMPLE - cx) / radius;
          const dy = (y + (sy + 0.5) / SUPERSAMPLE - cy) / radius;
          if (inside(cos * dx + sin * dy, -sin * dx + cos * dy)) cover++;
        }
      }
      const a = cover / (SUPERSAMPLE * SUPERSAMPLE);
      const shade = gradient[0] * (x / SIDE - 0.5) + gradient[1] * (y / SIDE - 0.5);
      values[y * SIDE + x] = a * foreground + (1 - a) * (background + shade) + noise * rng.normal();
    }
  }
  // Per-image standardisation to mean 0.5 and standard deviation 0.2 (then clipped to [0, 1]).
  let mean = 0;
  for (const v of values) mean += v / values.length;
  let variance = 0;
  for (const v of values) variance += (v - mean) ** 2 / values.length;
  const scale = 0.2 / Math.sqrt(variance + 1e-8);
  const out = new Uint8Array(SIDE * SIDE);
  for (let i = 0; i < values.length; i++) out[i] = Math.round(255 * Math.min(1, Math.max(0, 0.5 + (values[i] - mean) * scale)));
  return out;
}

const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

function writeSplit(dir: string, files: { images: string; labels: string }, count: number, rng: Rng): void {
  const pixels = new Uint8Array(count * SIDE * SIDE);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % SYNTHETIC_CLASSES.length; // balanced classes
    pixels.set(renderSynthetic(labels[i], rng), i * SIDE * SIDE);
  }
  writeIdx(path.join(dir, files.images), 'images', [count, SIDE, SIDE], pixels);
  writeIdx(path.join(dir, files.labels), 'labels', [count], labels);
}

export interface SyntheticOptions {
  root: string;
  seed?: number;
  train?: number;
  test?: number;
}

/** Builds the dataset under `root` unless it is there already; returns its root folder. */
export function ensureSynthetic({ root, seed = 0, train = 5000, test = 1000 }: SyntheticOptions): string {
  for (const [name, n] of [
    ['train', train],
    ['test', test],
  ] as const) {
    if (!Number.isInteger(n) || n < SYNTHETIC_CLASSES.length)
      throw new Error(`synthetic ${name} size must be an integer >= ${SYNTHETIC_CLASSES.length}, got ${n}`);
  }
  const dir = path.join(root, `synthetic-v2-s${seed}-${train}-${test}`);
  const complete = () => fs.existsSync(path.join(dir, FILES.test.labels));
  if (complete()) return dir;
  fs.mkdirSync(root, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(root, `.synthetic-tmp-`));
  try {
    const rng = new Rng(seed);
    writeSplit(tmp, FILES.train, train, rng.fork('train'));
    writeSplit(tmp, FILES.test, test, rng.fork('test')); // written last: its presence marks a complete copy
    fs.rmSync(dir, { recursive: true, force: true }); // an incomplete copy
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another process may have finished the same build first: its copy is as good as ours.
    if (complete()) return dir;
    throw e;
  }
  return dir;
}

export function loadSynthetic(options: SyntheticOptions): Dataset {
  const dir = ensureSynthetic(options);
  const at = (f: { images: string; labels: string }) => ({ images: path.join(dir, f.images), labels: path.join(dir, f.labels) });
  return loadIdxDataset({
    name: 'synthetic',
    classes: SYNTHETIC_CLASSES,
    train: at(FILES.train),
    test: at(FILES.test),
    fix: `delete ${dir} and run again: the built-in set is rebuilt from its seed`,
  });
}
