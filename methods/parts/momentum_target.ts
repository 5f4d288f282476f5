/**
 * A momentum target (BYOL's target network, MoCo's key encoder): a copy of backbone + projector moved towards
 * the online network by an exponential moving average after every step, its momentum rising by a cosine from
 * `emaStart` to `emaEnd` over the budget. It runs with batch statistics, outside the gradient.
 */
import type * as tf from '../../engine/tf.js';
import { copyModel, disposeModel, emaUpdate } from '../../engine/nn/params.js';
import { cosineRamp } from '../../engine/optim/schedule.js';
import type { MethodState, ModelAccess } from '../method.js';
import type { OwnSettings } from '../settings.js';

/** The target's settings, declared once for every method that has one, at its source's values. */
export function momentumSettings(source: { start: number; end: number }): OwnSettings {
  return {
    emaStart: {
      doc: "The target's momentum at the start of the budget (cosine to emaEnd).",
      default: source.start,
      source: source.start,
      min: 0,
      max: 1,
      search: { choices: [0.6, 0.9, 0.99, 0.996] },
    },
    emaEnd: { doc: "The target's momentum at the end of the budget.", default: source.end, source: source.end, min: 0, max: 1 },
  };
}

/** The target as a method state: its projections of the step's views are the loss's `zt`. */
export function momentumTarget(model: ModelAccess, params: Record<string, number>): MethodState {
  const target = copyModel(model.state);
  const prefix = (name: string, tree: Record<string, tf.Tensor>) =>
    Object.fromEntries(Object.entries(tree).map(([k, v]) => [`${name}/${k}`, v]));
  const take = (tensors: Record<string, tf.Tensor>, name: string) =>
    Object.fromEntries(
      Object.entries(tensors)
        .filter(([k]) => k.startsWith(`${name}/`))
        .map(([k, v]) => [k.slice(name.length + 1), v]),
    );
  return {
    beforeStep: ({ inputs, images }) => ({ zt: model.projectWith(target, inputs, images) }),
    afterStep: ({ progress }) => emaUpdate(target, model.state, cosineRamp(progress, params.emaStart, params.emaEnd)),
    checkpoint: () => ({ tensors: { ...prefix('params', target.params), ...prefix('buffers', target.buffers) }, counters: {} }),
    restore: (tensors) => {
      for (const tree of ['params', 'buffers'] as const) {
        const values = take(tensors, tree);
        for (const [k, v] of Object.entries(target[tree])) {
          if (!values[k]) throw new Error(`checkpoint has no target ${tree} "${k}" (it was written by a different model)`);
          if (values[k] !== v) v.assign(values[k]); // assigned to itself, it would drop its data first
        }
      }
    },
    dispose: () => disposeModel(target),
  };
}
