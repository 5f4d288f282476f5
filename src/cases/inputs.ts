/**
 * Inputs of the speed benchmarks: random RGB images of CIFAR's shape (32x32x3, uint8 NHWC). What a step
 * or an augmentation costs does not depend on the pixels, and RGB at 32 pixels is the shape PyTorch's
 * step benchmark and the CIFAR suites use (the built-in synthetic set is grey).
 */
import type { Rng } from '../../engine/random.js';

export const CIFAR_SHAPE = [32, 32, 3] as const;

export function randomCifarImages(count: number, rng: Rng): Uint8Array {
  const out = new Uint8Array(count * 32 * 32 * 3);
  for (let i = 0; i < out.length; i++) out[i] = rng.int(256);
  return out;
}

/** Labels for a supervised step: image i has class i mod `classes`. */
export function cyclicLabels(count: number, classes = 10): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => i % classes);
}
