/**
 * LARS (You et al. 2017) wrapped around SGD with momentum, as in solo-learn's `solo/utils/lars.py`
 * (the optimizer of the SimCLR/BYOL/VICReg/SwAV/Barlow baselines and of EMP-SSL's official code):
 *
 *   for weights (biases and batch-norm parameters are excluded and take plain SGD steps):
 *     if ||p|| > 0 and ||g|| > 0:
 *       r = eta * ||p|| / (||g|| + wd * ||p|| + eps);  if clip: r = min(r / lr, 1)
 *       g <- (g + wd * p) * r
 *   then SGD momentum (optionally Nesterov) with learning rate lr.
 *
 * The trust ratio stays on the device (no per-parameter read-back).
 */
import * as tf from '../tf.js';
import type { ParamSpec } from '../nn/module.js';
import { l2Norm } from '../ops/norm.js';
import type { ParamTree } from '../nn/params.js';
import { isBiasOrNorm, stepScale, sgdMomentumUpdate, SlotStore, type Optimizer, type OptimizerState } from './optimizer.js';

export interface LarsOptions {
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  /** Trust coefficient. solo-learn default 1e-3 (eta 0.02 in some configs). */
  eta?: number;
  eps?: number;
  /** Clip the adaptive rate at the global one (LARC-style). */
  clip?: boolean;
  /** Step multipliers by top-level module name (stepScale): e.g. { predictor: 10 }. */
  stepScales?: Record<string, number>;
}

export class Lars implements Optimizer {
  readonly name = 'lars';
  private readonly slots = new SlotStore();
  constructor(
    private readonly specs: Record<string, ParamSpec>,
    private readonly options: LarsOptions = {},
  ) {}

  step(params: ParamTree, grads: tf.NamedTensorMap, lr: number): void {
    const { momentum = 0.9, nesterov = false, weightDecay = 0, eta = 1e-3, eps = 1e-8, clip = false } = this.options;
    // One tidy per parameter: temporaries are parameter-sized, so free them as we go.
    for (const [name, p] of Object.entries(params)) {
      tf.tidy(() => {
        let g = grads[name];
        if (!g) return;
        if (!isBiasOrNorm(this.specs[name])) {
          const pNorm = l2Norm(p);
          const gNorm = l2Norm(g);
          let ratio = tf.div(tf.mul(pNorm, eta), tf.add(tf.add(gNorm, tf.mul(pNorm, weightDecay)), eps));
          if (clip) ratio = tf.minimum(tf.div(ratio, lr), 1);
          const apply = tf.logicalAnd(tf.greater(pNorm, 0), tf.greater(gNorm, 0));
          ratio = tf.where(apply, ratio, tf.onesLike(ratio));
          const decay = tf.where(apply, tf.scalar(weightDecay), tf.scalar(0));
          g = tf.mul(tf.add(g, tf.mul(p, decay)), ratio);
        }
        sgdMomentumUpdate(p, g, this.slots, name, { momentum, nesterov, lr: lr * stepScale(name, this.options.stepScales) });
      });
    }
  }

  state(): OptimizerState {
    return { tensors: this.slots.entries(), counters: {} };
  }

  restore(state: OptimizerState): void {
    this.slots.restore(state.tensors);
  }

  dispose(): void {
    this.slots.dispose();
  }
}
