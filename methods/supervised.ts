/**
 * The ceiling of every comparison: the same backbone trained with the labels, under the same budget and
 * the same augmentations as the SSL baselines (solo-learn's CIFAR view, one per image), then evaluated by
 * the same probes on its backbone features.
 *
 *   z: [1, B, classes] logits of a linear classifier on the backbone's features; labels: [B];
 *   loss = mean_b -log softmax(z_b)[label_b]
 *
 * SGD with Nesterov momentum 0.9, lr 0.1 per 256 images (Goyal et al., 2017), weight decay 5e-4, a short
 * warm-up and cosine decay over the budget: the usual CIFAR ResNet recipe (e.g. solo-learn's supervised
 * linear/fine-tune configs use SGD; there is no solo-learn "supervised pre-training" config to copy).
 */
import { soloLearnCifar } from '../datasets/augment/recipes.js';
import * as tf from '../engine/tf.js';
import type { LossResult, MethodConfig, MethodDefinition } from './method.js';

export function loss({ z, labels }: { z: tf.Tensor; labels: tf.Tensor }): LossResult {
  const [, b, classes] = z.shape;
  const logits = tf.reshape(z, [b, classes]);
  const logProbs = tf.logSoftmax(logits);
  const picked = tf.sum(tf.mul(logProbs, tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, classes)), 1);
  return { loss: tf.neg(tf.mean(picked)) as tf.Scalar, terms: {} };
}

export function method(): MethodConfig {
  return {
    name: 'supervised',
    source: 'cross-entropy on a linear classifier; SGD nesterov 0.9, lr 0.1 x batch/256, wd 5e-4; views: solo-learn CIFAR (one per image)',
    recipe: soloLearnCifar(1),
    projector: [],
    labels: true,
    optimizer: { kind: 'sgd', lr: 0.05, weightDecay: 5e-4, momentum: 0.9, nesterov: true, warmup: 0.02 },
    batchImages: 128,
    role: 'ceiling',
    settings: {},
    params: {},
    loss: ({ z, labels }) => loss({ z, labels: labels! }),
  };
}

export const definition: MethodDefinition = { name: 'supervised', make: method };
