/**
 * Embeddings for evaluation, off the training clock: from the backbone output, or from EMP-SSL's
 * "pre-feature" (the first projector layer after its BN and ReLU, which EMP-SSL's linear probe used);
 * for a single centre view, or as a bag of features (the mean embedding of K random patches of each
 * image; EMP-SSL evaluates K = 128). Batch norm runs in eval mode (running statistics).
 */
import type { AugmentPool } from '../../datasets/augment/augment_pool.js';
import { augmentBatch } from '../../datasets/augment/pipeline.js';
import type { Recipe, ViewSpec } from '../../datasets/augment/recipes.js';
import { Sequential } from '../../engine/nn/layers.js';
import type { Module } from '../../engine/nn/module.js';
import type { Rng } from '../../engine/random.js';
import * as tf from '../../engine/tf.js';
import { evalContext } from '../../engine/train/step.js';
import type { SslModel } from '../model/ssl_model.js';

export type EmbeddingLayer = 'backbone' | 'pre-feature';

export interface EmbedOptions {
  layer: EmbeddingLayer;
  /** null: one centre view (the whole image, normalised like the training views); K: bag of K patches. */
  patches: number | null;
  /** The recipe whose first view spec makes the patches and the normalisation. */
  recipe: Recipe;
  rng: Rng;
}

/** The modules an embedding passes through: the backbone, plus the projector's first Linear-BN-ReLU (Linear-ReLU) for the pre-feature. */
export function embeddingModules(model: SslModel, layer: EmbeddingLayer): Module[] {
  if (layer === 'backbone') return [model.backbone];
  const firstLayer = (model.method.projectorBatchNorm ?? true) ? 3 : 2;
  return [model.backbone, new Sequential('pre-feature', (model.projector as Sequential).layers.slice(0, firstLayer))];
}

/** Embeddings of a block of normalised crops [N, S, S, C] -> [N, D], batch norm in eval mode. */
export function embedBlock(model: SslModel, x: tf.Tensor4D, layer: EmbeddingLayer): tf.Tensor2D {
  return tf.tidy(() => {
    const ctx = evalContext(model.state);
    return embeddingModules(model, layer).reduce((h, m) => m.forward(h, ctx), x as tf.Tensor) as tf.Tensor2D;
  });
}

/** Normalised crops ready for the network: [crops, S, S, C], view-major. */
export interface CropBlock {
  data: Float32Array;
  shape: [number, number, number, number];
}

/**
 * The crops `embed` runs for `count` uint8 NHWC images: the whole image once (centre view), or K patches
 * from the recipe's first view spec, cut by `pool` (worker threads) when given, else on this thread; the
 * same crops either way, from `options.rng`'s seed.
 */
export async function cropsFor(
  images: Uint8Array,
  count: number,
  height: number,
  width: number,
  options: EmbedOptions,
  pool?: AugmentPool,
): Promise<CropBlock> {
  const spec: ViewSpec = options.recipe.views[0];
  if (options.patches === null) {
    // The whole image, normalised like the training views (what a full-size, scale-1 crop gives, without the resampling work).
    const { mean, std } = spec.normalize;
    const c = mean.length;
    const data = new Float32Array(count * height * width * c);
    for (let i = 0; i < data.length; i++) data[i] = (images[i] / 255 - mean[i % c]) / std[i % c];
    return { data, shape: [count, height, width, c] };
  }
  const recipe = { ...options.recipe, views: [{ ...spec, count: options.patches }] };
  const batch = pool
    ? await pool.augment(images, count, height, width, recipe, options.rng.seed)
    : augmentBatch(images, count, height, width, recipe, options.rng);
  return batch.views[0];
}

/** Embeddings of `count` images' crops (cropsFor), each image's K patches averaged: [count, D]. */
export async function embedCrops(model: SslModel, crops: CropBlock, count: number, layer: EmbeddingLayer): Promise<Float32Array> {
  const views = crops.shape[0] / count;
  const x = tf.tensor4d(crops.data, crops.shape);
  try {
    const perCrop = embedBlock(model, x, layer); // [views * count, D], view-major
    const d = perCrop.shape[1];
    const pooled = tf.tidy(() => tf.mean(tf.reshape(perCrop, [views, count, d]), 0));
    perCrop.dispose();
    const out = (await pooled.data()) as Float32Array;
    pooled.dispose();
    return out;
  } finally {
    x.dispose();
  }
}

/** Features of `count` uint8 NHWC images (height x width x the backbone's channels): [count, D]. */
export async function embed(
  model: SslModel,
  images: Uint8Array,
  count: number,
  height: number,
  width: number,
  options: EmbedOptions,
): Promise<Float32Array> {
  return embedCrops(model, await cropsFor(images, count, height, width, options), count, options.layer);
}
