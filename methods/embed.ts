/**
 * Embeddings for evaluation, off the training clock: from the backbone output, or from EMP-SSL's
 * "pre-feature" (the first projector layer after its BN and ReLU, which EMP-SSL's linear probe used);
 * for a single centre view, or as a bag of features (the mean embedding of K random patches of each
 * image; EMP-SSL evaluates K = 128). Batch norm runs in eval mode (running statistics).
 */
import { augmentBatch } from '../datasets/augment/pipeline.js';
import type { Recipe, ViewSpec } from '../datasets/augment/recipes.js';
import { Sequential } from '../src/nn/layers.js';
import type { Rng } from '../src/random.js';
import * as tf from '../src/tf.js';
import { evalContext } from '../src/train/step.js';
import type { SslModel } from './ssl_model.js';

export type EmbeddingLayer = 'backbone' | 'pre-feature';

export interface EmbedOptions {
  layer: EmbeddingLayer;
  /** null: one centre view (the whole image, normalised like the training views); K: bag of K patches. */
  patches: number | null;
  /** The recipe whose first view spec makes the patches and the normalisation. */
  recipe: Recipe;
  rng: Rng;
}

function embedBlock(model: SslModel, x: tf.Tensor4D, layer: EmbeddingLayer): tf.Tensor2D {
  return tf.tidy(() => {
    const ctx = evalContext(model.state);
    const features = model.backbone.forward(x, ctx);
    if (layer === 'backbone') return features as tf.Tensor2D;
    const projector = model.projector as Sequential;
    // Linear, BatchNorm, ReLU: the first hidden layer of the projector.
    return new Sequential('pre-feature', projector.layers.slice(0, 3)).forward(features, ctx) as tf.Tensor2D;
  });
}

/** Features of `count` uint8 NHWC images (height x width x 3): [count, D]. */
export async function embed(model: SslModel, images: Uint8Array, count: number, height: number, width: number, options: EmbedOptions): Promise<Float32Array> {
  const spec: ViewSpec = options.recipe.views[0];
  const view: ViewSpec =
    options.patches === null
      ? { ...spec, count: 1, size: height, crop: { scale: [1, 1], ratio: [width / height, width / height] }, flip: 0, jitter: null, grayscale: 0, blur: null, solarize: 0 }
      : { ...spec, count: options.patches };
  const batch = augmentBatch(images, count, height, width, { ...options.recipe, views: [view] }, options.rng);
  const block = batch.views[0];
  const x = tf.tensor4d(block.data, block.shape);
  try {
    const perCrop = embedBlock(model, x, options.layer); // [views * count, D], view-major
    const d = perCrop.shape[1];
    const pooled = tf.tidy(() => tf.mean(tf.reshape(perCrop, [view.count, count, d]), 0));
    perCrop.dispose();
    const out = (await pooled.data()) as Float32Array;
    pooled.dispose();
    return out;
  } finally {
    x.dispose();
  }
}
