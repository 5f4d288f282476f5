/**
 * The built-in synthetic dataset: no download, generated from a seed, 32x32 RGB, 10 classes.
 *
 * A class is a *shape* (disk, square, triangle, ring, plus, X, horizontal bars, vertical bars,
 * checkerboard, diamond); colour, background, position, scale, rotation and noise are drawn per image.
 * Colour statistics therefore say nothing about the class, while structure does: features that are
 * invariant to the colour/crop augmentations SSL methods use are exactly what a probe needs.
 *
 * Written in the CIFAR-10 binary format (so it is read by the same loader as CIFAR-10) under
 * ROOT/synthetic-s<seed>-<train>-<test>/cifar-10-batches-bin/, built in a temporary folder and renamed
 * into place, so an interrupted build never leaves a half-written dataset.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Rng } from '../engine/random.js';
import { CIFAR10_DIR, loadCifar10 } from './cifar.js';
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

const luma = (c: number[]) => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];

/** One image, channel-planar bytes (CIFAR record layout without the label). */
export function renderSynthetic(label: number, rng: Rng): Uint8Array {
  const background = [rng.uniform(), rng.uniform(), rng.uniform()];
  let foreground = [rng.uniform(), rng.uniform(), rng.uniform()];
  // Keep the shape visible: redraw the colour until its brightness differs enough from the background's.
  while (Math.abs(luma(foreground) - luma(background)) < 0.25) foreground = [rng.uniform(), rng.uniform(), rng.uniform()];
  const gradient = [rng.uniform() - 0.5, rng.uniform() - 0.5].map((g) => g * 0.4); // background shading per pixel span
  const radius = 6 + rng.uniform() * 7;
  const cx = radius + rng.uniform() * (SIDE - 2 * radius);
  const cy = radius + rng.uniform() * (SIDE - 2 * radius);
  const angle = (rng.uniform() - 0.5) * (Math.PI / 6);
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
  const noise = rng.uniform() * 0.08;
  const inside = INSIDE[label];
  const out = new Uint8Array(3 * SIDE * SIDE);
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
      for (let c = 0; c < 3; c++) {
        const v = a * foreground[c] + (1 - a) * (background[c] + shade) + noise * rng.normal();
        out[c * SIDE * SIDE + y * SIDE + x] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
    }
  }
  return out;
}

function writeSplit(file: string, count: number, rng: Rng): void {
  const record = 1 + 3 * SIDE * SIDE;
  const buffer = Buffer.alloc(count * record);
  for (let i = 0; i < count; i++) {
    const label = i % SYNTHETIC_CLASSES.length; // balanced classes
    buffer[i * record] = label;
    buffer.set(renderSynthetic(label, rng), i * record + 1);
  }
  fs.writeFileSync(file, buffer);
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
  const dir = path.join(root, `synthetic-s${seed}-${train}-${test}`);
  if (fs.existsSync(path.join(dir, CIFAR10_DIR, 'test_batch.bin'))) return dir;
  fs.mkdirSync(root, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(root, `.synthetic-tmp-`));
  try {
    const out = path.join(tmp, CIFAR10_DIR);
    fs.mkdirSync(out);
    const rng = new Rng(seed);
    writeSplit(path.join(out, 'data_batch_1.bin'), train, rng.fork('train'));
    writeSplit(path.join(out, 'test_batch.bin'), test, rng.fork('test'));
    fs.writeFileSync(path.join(out, 'batches.meta.txt'), `${SYNTHETIC_CLASSES.join('\n')}\n`);
    fs.rmSync(dir, { recursive: true, force: true }); // an incomplete copy (no test split)
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another process may have finished the same build first: its copy is as good as ours.
    if (fs.existsSync(path.join(dir, CIFAR10_DIR, 'test_batch.bin'))) return dir;
    throw e;
  }
  return dir;
}

export function loadSynthetic(options: SyntheticOptions): Dataset {
  return loadCifar10(ensureSynthetic(options), 'synthetic');
}
