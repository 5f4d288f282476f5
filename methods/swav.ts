/**
 * SwAV (Caron et al., 2020; solo-learn multi-crop): swapped prediction of Sinkhorn-Knopp codes.
 *
 *   z: [V, B, D] (first n_global views are the large crops), prototypes: [K, D]; rows L2-normalised;
 *   scores_v = z_v P^T;  codes_i = SinkhornKnopp(exp(scores_i / eps)) for global views, no gradient,
 *     `iters` alternations normalising prototypes (rows of Q = exp(...)^T) then samples;
 *   loss = mean over global i of mean over v != i of -mean_b sum_k codes_i log softmax(scores_v / T)
 *
 * With a queue (past normalised embeddings of the global views, [n_global, Q, D]), view i's Sinkhorn runs
 * over its batch scores and the queue's, and the codes are cut back to the batch (solo-learn swav.py:201-205).
 *
 * Its state beside the model: the prototypes (a trainable [K, D] matrix kept on the unit sphere, frozen for the
 * first `freezePrototypes` of the budget) and the queue, filled from the first step and passed to the loss once
 * progress reaches `queueStart`.
 */
import * as tf from '../engine/tf.js';
import { swavMultiCrop } from '../datasets/augment/recipes.js';
import { joinName, type BufferSpec, type LayerCost, type Module, type ParamSpec } from '../engine/nn/module.js';
import { normalizeRows, views } from '../engine/ops/embeddings.js';
import { l2Norm } from '../engine/ops/norm.js';
import { bilinearDepartures, withViews, type LossResult, type MethodConfig, type MethodDefinition, type MethodHooks } from './method.js';
import { EmbeddingQueue } from './parts/embedding_queue.js';
import { ownDefaults, type OwnSettings } from './settings.js';

export interface SwavLossParams {
  temperature: number;
  eps: number;
  iters: number;
  n_global: number;
}

/** SwAV's sinkhorn(): Q = exp(scores / eps)^T [K, B], normalised to a joint distribution, then alternately rows and columns. */
export function sinkhorn(scores: tf.Tensor2D, eps: number, iters: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [b, k] = scores.shape;
    // Subtracting the maximum leaves Q unchanged after the first normalisation and avoids overflow.
    let q = tf.transpose(tf.exp(tf.div(tf.sub(scores, tf.max(scores)), eps))) as tf.Tensor2D; // [K, B]
    q = tf.div(q, tf.sum(q));
    for (let it = 0; it < iters; it++) {
      q = tf.div(tf.div(q, tf.sum(q, 1, true)), k);
      q = tf.div(tf.div(q, tf.sum(q, 0, true)), b);
    }
    return tf.transpose(tf.mul(q, b)) as tf.Tensor2D; // [B, K], rows sum to 1
  });
}

/**
 * Sinkhorn codes as a constant: run inside a custom op, whose forward pass tfjs does not record on the gradient
 * tape. Recorded, every Sinkhorn intermediate stays alive until the backward pass; at batch + queue = 3,904
 * samples x 3,000 prototypes that held gigabytes and aborted the wasm backend's 4 GB heap.
 */
function codesWithoutGradient(scores: tf.Tensor2D, eps: number, iters: number): tf.Tensor2D {
  const op = tf.customGrad(((s: tf.Tensor) => ({
    value: sinkhorn(s as tf.Tensor2D, eps, iters),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(scores) as tf.Tensor2D;
}

export function loss(
  { z, prototypes, queue }: { z: tf.Tensor; prototypes: tf.Tensor; queue?: tf.Tensor },
  params: SwavLossParams = ownDefaults(SETTINGS) as unknown as SwavLossParams,
): LossResult {
  const vs = views(normalizeRows(z));
  const batch = vs[0].shape[0];
  if (params.n_global < 1 || params.n_global > vs.length) throw new Error(`n_global must be in 1..${vs.length}, got ${params.n_global}`);
  const protos = normalizeRows(prototypes) as tf.Tensor2D;
  const scores = vs.map((v) => tf.matMul(v, protos, false, true));
  const logProbs = scores.map((s) => tf.logSoftmax(tf.div(s, params.temperature)));
  const terms: Record<string, tf.Tensor> = {};
  let total: tf.Tensor = tf.scalar(0);
  for (let i = 0; i < params.n_global; i++) {
    const assignable = queue ? tf.concat([scores[i], tf.matMul(tf.gather(queue, i), protos, false, true)], 0) : scores[i];
    let codes = codesWithoutGradient(assignable as tf.Tensor2D, params.eps, params.iters);
    if (queue) codes = tf.slice(codes, [0, 0], [batch, -1]);
    if (i === 0) terms.codes_view0 = codes;
    let perView: tf.Tensor = tf.scalar(0);
    for (let v = 0; v < vs.length; v++) {
      if (v === i) continue;
      perView = tf.add(perView, tf.neg(tf.mean(tf.sum(tf.mul(codes, logProbs[v]), 1))));
    }
    total = tf.add(total, tf.div(perView, vs.length - 1));
  }
  return { loss: tf.div(total, params.n_global) as tf.Scalar, terms };
}

/** The prototype matrix as a parameter-only module (the loss reads it; its cost is the loss's). */
class Prototypes implements Module {
  readonly name = 'prototypes';
  constructor(
    readonly count: number,
    readonly dim: number,
  ) {}
  params(): ParamSpec[] {
    return [
      {
        name: joinName(this.name, 'weight'),
        shape: [this.count, this.dim],
        group: 'weight',
        init: { kind: 'uniform', bound: 1 / Math.sqrt(this.dim) },
      },
    ];
  }
  buffers(): BufferSpec[] {
    return [];
  }
  forward(x: tf.Tensor): tf.Tensor {
    return x;
  }
  trace(inShape: number[], _costs: LayerCost[]): number[] {
    return inShape;
  }
}

const PROTOTYPES = joinName('prototypes', 'weight');

/**
 * solo-learn counts the freeze and the queue's start in epochs of a 1000-epoch run (swav.yaml:20-24); the
 * harness schedules on budget progress, so 2 and 50 epochs become 0.2 % and 5 % of the budget.
 */
export const SETTINGS: OwnSettings = {
  temperature: {
    doc: 'Softmax temperature of the swapped prediction.',
    default: 0.1,
    source: 0.1,
    min: 0.01,
    max: 1,
    search: { min: 0.05, max: 0.5, scale: 'log' },
  },
  eps: {
    doc: "Sinkhorn's entropy regularisation.",
    default: 0.05,
    source: 0.05,
    min: 0.001,
    max: 1,
    search: { min: 0.01, max: 0.1, scale: 'log' },
  },
  iters: { doc: 'Sinkhorn iterations.', default: 3, source: 3, min: 1, max: 20, integer: true },
  n_global: { doc: 'Views that get codes (the large crops; solo-learn asserts 2).', default: 2, source: 2, min: 1, max: 8, integer: true },
  prototypes: {
    doc: 'Prototype count.',
    default: 3000,
    source: 3000,
    min: 2,
    max: 100000,
    integer: true,
    search: { choices: [100, 300, 1000, 3000] },
  },
  freezePrototypes: {
    doc: 'Budget progress until which the prototypes get no updates (1: the whole budget).',
    default: 2 / 1000,
    source: 2 / 1000,
    min: 0,
    max: 1,
  },
  queueSize: { doc: 'Past images whose embeddings the queue holds.', default: 3840, source: 3840, min: 1, max: 1e6, integer: true },
  queueStart: {
    doc: 'Budget progress from which the queue joins the Sinkhorn assignments (1: never).',
    default: 50 / 1000,
    source: 50 / 1000,
    min: 0,
    max: 1,
    search: { choices: [0.05, 0.25, 1] },
  },
};

const hooks: MethodHooks = {
  modules: (dim, p) => [new Prototypes(p.prototypes, dim)],
  createState: (model, p) => {
    const w = model.state.params[PROTOTYPES];
    // solo-learn keeps the prototypes on the unit sphere: normalised at the start and after every step.
    const normalize = () => tf.tidy(() => w.assign(tf.div(w, l2Norm(w, 1, true))));
    normalize();
    const queue = new EmbeddingQueue(p.n_global, p.queueSize, model.embedDim);
    const frozen = new Set([PROTOTYPES]);
    return {
      beforeStep: ({ progress }) => ({ queue: progress >= p.queueStart ? queue.contents() : undefined }),
      frozen: (progress) => (progress < p.freezePrototypes ? frozen : undefined),
      afterStep: ({ z }) => {
        const newest = tf.tidy(() => normalizeRows(tf.slice(z, [0, 0, 0], [p.n_global, -1, -1])));
        queue.push(newest);
        newest.dispose();
        normalize();
      },
      checkpoint: () => queue.checkpoint(),
      restore: (tensors, counters) => queue.restore(tensors, counters),
      dispose: () => queue.dispose(),
    };
  },
};

/** The method: views, heads and optimizer defaults (sources in `source`). */
export function method(views?: number): MethodConfig {
  const recipe = withViews(swavMultiCrop(), views);
  return {
    name: 'swav',
    source:
      'solo-learn cifar/swav.yaml: 2x32 + 6x18 crops, projector 2048-128, 3000 prototypes frozen 2 epochs, queue 3840 from epoch 50, T 0.1, 3 Sinkhorn iters, eps 0.05, LARS lr 0.6, wd 1e-6',
    recipe,
    projector: [2048, 128],
    optimizer: { kind: 'lars', lr: 0.6, weightDecay: 1e-6, momentum: 0.9, eta: 0.02, clip: true, warmup: 0.01 },
    batchImages: 256,
    departures: {
      ...bilinearDepartures(recipe),
      'scheduler.min_lr': 'cosine to 0, as every method here (the multi-crop config ends at 0.0006, 0.1 % of its rate)',
    },
    role: 'ssl',
    settings: SETTINGS,
    params: ownDefaults(SETTINGS),
    hooks,
    loss: ({ z, weights, queue }, p) => loss({ z, prototypes: weights[PROTOTYPES], queue }, p as unknown as SwavLossParams),
  };
}

export const definition: MethodDefinition = {
  name: 'swav',
  make: method,
  referenceLoss: (i, p) => loss(i as { z: tf.Tensor; prototypes: tf.Tensor; queue?: tf.Tensor }, p as unknown as SwavLossParams),
};
