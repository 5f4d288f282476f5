/**
 * AdamW with decoupled weight decay, PyTorch semantics (torch.optim.AdamW):
 *   p <- p * (1 - lr * wd);  m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
 *   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 */
import * as tf from '../tf.js';
import type { ParamSpec } from '../nn/module.js';
import type { ParamTree } from '../nn/params.js';
import { isBiasOrNorm, SlotStore, type Optimizer, type OptimizerState } from './optimizer.js';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  excludeBiasAndNormFromDecay?: boolean;
}

export class AdamW implements Optimizer {
  readonly name = 'adamw';
  private readonly moments = new SlotStore();
  private t = 0;
  constructor(
    private readonly specs: Record<string, ParamSpec>,
    private readonly options: AdamWOptions = {},
  ) {}

  step(params: ParamTree, grads: tf.NamedTensorMap, lr: number): void {
    const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.01, excludeBiasAndNormFromDecay = false } = this.options;
    this.t += 1;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    // One tidy per parameter: temporaries are parameter-sized, so free them as we go.
    for (const [name, p] of Object.entries(params)) {
      tf.tidy(() => {
        const g = grads[name];
        if (!g) return;
        const decay = excludeBiasAndNormFromDecay && isBiasOrNorm(this.specs[name]) ? 0 : weightDecay;
        const m = this.moments.get(`${name}/m`, p);
        const v = this.moments.get(`${name}/v`, p);
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
        p.assign(tf.sub(tf.mul(p, 1 - lr * decay), tf.mul(update, lr)));
      });
    }
  }

  state(): OptimizerState {
    return { tensors: this.moments.entries(), counters: { t: this.t } };
  }

  restore(state: OptimizerState): void {
    this.moments.restore(state.tensors);
    this.t = state.counters.t ?? 0;
  }

  dispose(): void {
    this.moments.dispose();
  }
}
