/**
 * Relative update sizes per layer, ||w_after - w_before|| / ||w_before||, where a layer is a parameter's name
 * without its last part ("layer4.0.conv2", "projector.3"): its weight and bias together. Summarised between
 * evaluation points (mean and max over steps) for the result rows, and kept for the last step so that a
 * divergence can name the layers whose updates ran away just before it. Costs a copy of the parameters per
 * step, so it runs only when asked (`npm run bench -- --log-updates`).
 */
import * as tf from '../../engine/tf.js';

export interface UpdateNorm {
  mean: number;
  max: number;
}

/** "layer4.0.conv2.weight" -> "layer4.0.conv2" */
export function layerOf(param: string): string {
  const i = param.lastIndexOf('.');
  return i === -1 ? param : param.slice(0, i);
}

export class UpdateNormTracker {
  private sums = new Map<string, { sum: number; max: number; count: number }>();
  private last: Record<string, number> = {};

  /** Copies of the parameters about to be updated (the caller passes them to `record` and it disposes them). */
  snapshot(params: Record<string, tf.Variable>): Record<string, tf.Tensor> {
    return Object.fromEntries(Object.entries(params).map(([name, v]) => [name, tf.clone(v)]));
  }

  /** Records one step's relative update per layer from the snapshot taken before it, and disposes the snapshot. */
  async record(before: Record<string, tf.Tensor>, params: Record<string, tf.Variable>): Promise<void> {
    const layers = [...new Set(Object.keys(before).map(layerOf))];
    const ratios = tf.tidy(() => {
      const moved = new Map<string, tf.Tensor[]>();
      const size = new Map<string, tf.Tensor[]>();
      for (const [name, old] of Object.entries(before)) {
        const layer = layerOf(name);
        moved.set(layer, [...(moved.get(layer) ?? []), tf.sum(tf.square(tf.sub(params[name], old)))]);
        size.set(layer, [...(size.get(layer) ?? []), tf.sum(tf.square(old))]);
      }
      // A layer initialised at zero (a bias) divides by a tiny norm: the floor keeps its ratio finite.
      return tf.stack(layers.map((l) => tf.div(tf.sqrt(tf.addN(moved.get(l)!)), tf.maximum(tf.sqrt(tf.addN(size.get(l)!)), 1e-12))));
    });
    tf.dispose(Object.values(before));
    // Read asynchronously: the webgpu backend cannot read synchronously in Node.
    const values = await ratios.data();
    ratios.dispose();
    this.last = Object.fromEntries(layers.map((l, i) => [l, values[i]]));
    for (const [l, v] of Object.entries(this.last)) {
      const s = this.sums.get(l) ?? { sum: 0, max: 0, count: 0 };
      this.sums.set(l, { sum: s.sum + v, max: Math.max(s.max, v), count: s.count + 1 });
    }
  }

  /** Mean and max relative update per layer since the last call (empty if no step was recorded). */
  take(): Record<string, UpdateNorm> {
    const out = Object.fromEntries([...this.sums].map(([l, s]) => [l, { mean: s.sum / s.count, max: s.max }]));
    this.sums.clear();
    return out;
  }

  /** "layer4.0.conv2 0.31, projector.3 0.12" : the `n` largest updates of the last recorded step. */
  largestLast(n = 3): string {
    return Object.keys(this.last).length > 0 ? largest(this.last, n) : 'none (no step before)';
  }
}

/** The `n` largest values of a layer -> size map, as "layer size, ...". */
export function largest(sizes: Record<string, number>, n = 3): string {
  return Object.entries(sizes)
    .sort((a, b) => (Number.isNaN(a[1]) ? -1 : Number.isNaN(b[1]) ? 1 : b[1] - a[1]))
    .slice(0, n)
    .map(([l, v]) => `${l} ${v.toPrecision(2)}`)
    .join(', ');
}
