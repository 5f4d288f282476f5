/**
 * MoCo v2+ (Chen et al., 2020; solo-learn's CIFAR config): each view's query matches the other view's key from
 * a momentum encoder against a queue of past keys.
 *
 *   q_v = normalize(z_v), k_v = normalize(zt_v) (no gradient), queue: [2, K, D] unit rows (queue[v]: past k_v);
 *   L(q, k, Q) = cross-entropy([q.k, q.Q_1 .. q.Q_K] / T, target 0), mean over the batch;
 *   loss = (L(q_0, k_1, queue[1]) + L(q_1, k_0, queue[0])) / 2
 *
 * Its state beside the model: the momentum encoder (methods/parts/momentum_target.ts, tau 0.99 -> 0.999) and
 * one queue of keys per view, full of random unit vectors at the start (solo-learn mocov2plus.py:73-75) and
 * refreshed with each step's keys after the loss, so a batch's own keys are never its negatives.
 */
import * as tf from '../engine/tf.js';
import { soloLearnCifar } from '../datasets/augment/recipes.js';
import { normalizeRows, stopGradient, views } from '../engine/ops/embeddings.js';
import { Rng } from '../engine/random.js';
import { bilinearDepartures, type LossResult, type MethodConfig, type MethodDefinition, type MethodHooks, withViews } from './method.js';
import { EmbeddingQueue } from './parts/embedding_queue.js';
import { momentumSettings, momentumTarget } from './parts/momentum_target.js';
import { ownDefaults, type OwnSettings } from './settings.js';

export const SETTINGS: OwnSettings = {
  temperature: {
    doc: 'Softmax temperature of the InfoNCE.',
    default: 0.2,
    source: 0.2,
    min: 0.01,
    max: 2,
    search: { min: 0.05, max: 1, scale: 'log' },
  },
  queueSize: {
    doc: 'Past keys per view used as negatives.',
    default: 32768,
    source: 32768,
    min: 1,
    max: 1e6,
    integer: true,
    search: { choices: [1024, 4096, 16384, 32768] },
  },
  ...momentumSettings({ start: 0.99, end: 0.999 }),
};

/** InfoNCE of queries against their keys, the queue's rows the negatives: -mean log softmax(...)[0]. */
function infoNce(q: tf.Tensor2D, k: tf.Tensor2D, negatives: tf.Tensor2D, temperature: number): tf.Scalar {
  const positive = tf.sum(tf.mul(q, k), 1, true);
  const logits = tf.div(tf.concat([positive, tf.matMul(q, negatives, false, true)], 1), temperature);
  return tf.neg(tf.mean(tf.slice(tf.logSoftmax(logits), [0, 0], [-1, 1]))) as tf.Scalar;
}

export function loss({ z, zt, queue }: { z: tf.Tensor; zt: tf.Tensor; queue: tf.Tensor }, params: { temperature: number }): LossResult {
  const q = views(normalizeRows(z));
  const k = views(normalizeRows(stopGradient(zt)));
  if (q.length !== 2) throw new Error(`MoCo v2+ takes 2 views, got ${q.length}`);
  const negatives = views(queue);
  const first = infoNce(q[0], k[1], negatives[1], params.temperature);
  const second = infoNce(q[1], k[0], negatives[0], params.temperature);
  return { loss: tf.div(tf.add(first, second), 2) as tf.Scalar, terms: {} };
}

const hooks: MethodHooks = {
  forwardOnlyCopies: 1,
  createState: (model, p) => {
    const target = momentumTarget(model, p);
    const random = new Rng(model.seed).fork('mocov2plus.queue').fillNormal(new Float32Array(2 * p.queueSize * model.embedDim));
    const initial = tf.tidy(() => normalizeRows(tf.tensor3d(random, [2, p.queueSize, model.embedDim])));
    const queue = new EmbeddingQueue(2, p.queueSize, model.embedDim, initial);
    initial.dispose();
    return {
      beforeStep: (step) => ({ ...target.beforeStep!(step), queue: queue.contents() }),
      afterStep: (step) => {
        const keys = tf.tidy(() => normalizeRows(step.made.zt!));
        queue.push(keys);
        keys.dispose();
        target.afterStep!(step);
      },
      checkpoint: () => {
        const t = target.checkpoint!();
        const qu = queue.checkpoint();
        return { tensors: { ...t.tensors, ...qu.tensors }, counters: { ...t.counters, ...qu.counters } };
      },
      restore: (tensors, counters) => {
        target.restore!(tensors, counters);
        queue.restore(tensors, counters);
      },
      dispose: () => {
        target.dispose!();
        queue.dispose();
      },
    };
  },
};

/** The method: views, heads and optimizer defaults (sources in `source`). */
export function method(views?: number): MethodConfig {
  // solo-learn's symmetric_weak.yaml: crop 0.08-1, jitter 0.4/0.4/0.4/0.1 p 0.8, grayscale 0.2, blur 0.5, flip 0.5.
  const weak = { ...soloLearnCifar(2, 32, { jitter: [0.4, 0.4, 0.4, 0.1], blur: 0.5 }), name: 'solo-symmetric-weak-2-views' };
  const recipe = withViews(weak, views);
  return {
    name: 'mocov2plus',
    source:
      'solo-learn cifar/mocov2plus.yaml: projector 2048-256 without batch norm, queue 32768 per view, T 0.2, tau 0.99 -> 0.999, SGD lr 0.3, wd 1e-4, batch 256',
    recipe,
    projector: [2048, 256],
    projectorBatchNorm: false,
    optimizer: { kind: 'sgd', lr: 0.3, weightDecay: 1e-4, momentum: 0.9, warmup: 0.01 },
    batchImages: 256,
    departures: bilinearDepartures(recipe),
    role: 'ssl',
    settings: SETTINGS,
    params: ownDefaults(SETTINGS),
    hooks,
    loss: ({ z, zt, queue }, p) => loss({ z, zt: zt!, queue: queue! }, { temperature: p.temperature }),
  };
}

export const definition: MethodDefinition = {
  name: 'mocov2plus',
  make: method,
  referenceLoss: (i, p) => loss(i as { z: tf.Tensor; zt: tf.Tensor; queue: tf.Tensor }, { temperature: p.temperature }),
};
