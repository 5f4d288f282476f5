/**
 * BYOL (Grill et al., 2020; solo-learn): online predictions regress the EMA target's projections of the
 * other views.
 *
 *   p: [V, B, D] online predictions; zt: [V, B, D] target projections (no gradient);
 *   loss = sum over ordered view pairs i != j of mean_b (2 - 2 cos(p_i, zt_j))
 *
 * Its state beside the model: the momentum target (methods/parts/momentum_target.ts), tau 0.99 -> 1.0.
 */
import * as tf from '../engine/tf.js';
import { soloAsymmetric } from '../datasets/augment/recipes.js';
import { bilinearDepartures, withViews, type LossResult, type MethodConfig, type MethodDefinition } from './method.js';
import { normalizeRows, stopGradient, views } from '../engine/ops/embeddings.js';
import { momentumSettings, momentumTarget } from './parts/momentum_target.js';
import { ownDefaults, type OwnSettings } from './settings.js';

export const SETTINGS: OwnSettings = momentumSettings({ start: 0.99, end: 1.0 });

export function loss({ p, zt }: { p: tf.Tensor; zt: tf.Tensor }): LossResult {
  const ps = views(normalizeRows(p));
  const ts = views(normalizeRows(stopGradient(zt)));
  let total: tf.Tensor = tf.scalar(0);
  for (let i = 0; i < ps.length; i++) {
    for (let j = 0; j < ts.length; j++) {
      if (i === j) continue;
      total = tf.add(total, tf.mean(tf.sub(2, tf.mul(2, tf.sum(tf.mul(ps[i], ts[j]), -1)))));
    }
  }
  return { loss: total as tf.Scalar, terms: {} };
}

/** The method: views, heads and optimizer defaults (sources in `source`). */
export function method(views?: number): MethodConfig {
  const recipe = withViews(soloAsymmetric(), views);
  return {
    name: 'byol',
    source: 'solo-learn cifar/byol.yaml: projector 4096-256, predictor 4096-256, tau 0.99 -> 1.0 cosine, LARS lr 1.0, wd 1e-5',
    recipe,
    projector: [4096, 256],
    predictor: [4096, 256],
    optimizer: { kind: 'lars', lr: 1.0, weightDecay: 1e-5, momentum: 0.9, eta: 0.02, clip: true, warmup: 0.01 },
    batchImages: 256,
    departures: bilinearDepartures(recipe),
    role: 'ssl',
    settings: SETTINGS,
    params: ownDefaults(SETTINGS),
    hooks: { createState: momentumTarget, forwardOnlyCopies: 1 },
    loss: ({ p, zt }) => loss({ p: p!, zt: zt! }),
  };
}

export const definition: MethodDefinition = {
  name: 'byol',
  make: method,
  referenceLoss: (i) => loss(i as { p: tf.Tensor; zt: tf.Tensor }),
};
