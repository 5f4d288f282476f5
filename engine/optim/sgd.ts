/**
 * SGD with momentum, Nesterov and weight decay, PyTorch semantics (torch.optim.SGD, dampening 0):
 *   g <- g + wd * p;  b <- mu * b + g;  g <- g + mu * b (Nesterov) or g <- b;  p <- p - lr * g
 */
import * as tf from '../tf.js';
import type { ParamSpec } from '../nn/module.js';
import type { ParamTree } from '../nn/params.js';
import { isBiasOrNorm, stepScale, sgdMomentumUpdate, SlotStore, type Optimizer, type OptimizerState } from './optimizer.js';

export interface SgdOptions {
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  /** Exclude biases and batch-norm parameters from weight decay. Default false (PyTorch's default). */
  excludeBiasAndNormFromDecay?: boolean;
  /** Step multipliers by top-level module name (stepScale): e.g. { predictor: 10 }. */
  stepScales?: Record<string, number>;
}

export class Sgd implements Optimizer {
  readonly name = 'sgd';
  private readonly slots = new SlotStore();
  constructor(
    private readonly specs: Record<string, ParamSpec>,
    private readonly options: SgdOptions = {},
  ) {
    if (options.nesterov && !(options.momentum && options.momentum > 0)) throw new Error('Nesterov momentum needs momentum > 0');
  }

  step(params: ParamTree, grads: tf.NamedTensorMap, lr: number): void {
    const { momentum = 0, nesterov = false, weightDecay = 0, excludeBiasAndNormFromDecay = false } = this.options;
    // One tidy per parameter: temporaries are parameter-sized, so free them as we go.
    for (const [name, p] of Object.entries(params)) {
      tf.tidy(() => {
        let g = grads[name];
        if (!g) return;
        const decay = excludeBiasAndNormFromDecay && isBiasOrNorm(this.specs[name]) ? 0 : weightDecay;
        if (decay !== 0) g = tf.add(g, tf.mul(p, decay));
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
