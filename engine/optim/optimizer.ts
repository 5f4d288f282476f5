/**
 * Optimizer contract: one update of named parameters from named gradients at a given learning rate.
 * Learning rates come from a schedule over budget progress (schedule.ts), never from epochs.
 */
import * as tf from '../tf.js';
import type { ParamSpec } from '../nn/module.js';
import type { ParamTree } from '../nn/params.js';

/** An optimizer's state, for checkpoints: its slot tensors and any counters. */
export interface OptimizerState {
  tensors: Record<string, tf.Tensor>;
  counters: Record<string, number>;
}

export interface Optimizer {
  readonly name: string;
  step(params: ParamTree, grads: tf.NamedTensorMap, lr: number): void;
  state(): OptimizerState;
  /** Replaces the state with a saved one (tensors are copied). */
  restore(state: OptimizerState): void;
  dispose(): void;
}

/** Biases and batch-norm parameters: excluded from weight decay (and from LARS adaptation). */
export function isBiasOrNorm(spec: ParamSpec | undefined): boolean {
  return spec !== undefined && spec.group !== 'weight';
}

/** Lazily created per-parameter state tensors (momentum buffers, Adam moments). */
export class SlotStore {
  private readonly slots = new Map<string, tf.Variable>();
  get(key: string, like: tf.Tensor): tf.Variable {
    let v = this.slots.get(key);
    if (!v) {
      v = tf.ownedVariable(tf.zerosLike(like), false);
      this.slots.set(key, v);
    }
    return v;
  }
  entries(): Record<string, tf.Tensor> {
    return Object.fromEntries(this.slots);
  }
  /** Replaces every slot with copies of `values`. */
  restore(values: Record<string, tf.Tensor>): void {
    // Copied before the old slots go: `values` may be those very slots (a model restored from its own state).
    const copies = Object.entries(values).map(([k, v]) => [k, tf.ownedVariable(tf.clone(v), false)] as const);
    this.dispose();
    for (const [k, v] of copies) this.slots.set(k, v);
  }
  dispose(): void {
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
  }
}

/**
 * PyTorch's SGD update after any gradient preprocessing (call inside tf.tidy):
 *   b <- mu * b + g;  p <- p - lr * (g + mu * b) with Nesterov, p - lr * b without;  p - lr * g when mu = 0.
 */
export function sgdMomentumUpdate(
  p: tf.Variable,
  g: tf.Tensor,
  slots: SlotStore,
  name: string,
  options: { momentum: number; nesterov: boolean; lr: number },
): void {
  let step = g;
  if (options.momentum !== 0) {
    const buf = slots.get(name, p);
    buf.assign(tf.add(tf.mul(buf, options.momentum), g));
    step = options.nesterov ? tf.add(g, tf.mul(buf, options.momentum)) : buf;
  }
  p.assign(tf.sub(p, tf.mul(step, options.lr)));
}

/**
 * The step multiplier of parameter `name` (e.g. "predictor.0.weight"): the factor of the module it belongs to
 * ({ predictor: 10 }: the predictor takes 10x larger steps), 1 for the rest.
 */
export function stepScale(name: string, scales: Record<string, number> | undefined): number {
  if (!scales) return 1;
  const module = name.split('.')[0];
  return scales[module] ?? 1;
}
