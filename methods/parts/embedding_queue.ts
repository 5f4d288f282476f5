/**
 * A queue of past embeddings, one row block per view: [views, size, dim], newest first, the oldest falling off
 * the end (solo-learn's SwAV queue, swav.py:229-232; MoCo's queue of keys holds the same set in a ring). It
 * starts empty (`filled` 0) or full of given rows (MoCo's random unit keys).
 */
import * as tf from '../../engine/tf.js';

export class EmbeddingQueue {
  private rows: tf.Tensor;
  private filled: number;

  constructor(
    readonly views: number,
    readonly size: number,
    dim: number,
    initial?: tf.Tensor,
  ) {
    this.rows = initial ? tf.clone(initial) : tf.zeros([views, size, dim]);
    this.filled = initial ? size : 0;
  }

  /** The filled rows [views, filled, dim], a tensor the caller owns; undefined while empty. */
  contents(): tf.Tensor | undefined {
    if (this.filled === 0) return undefined;
    return this.filled === this.size ? tf.clone(this.rows) : tf.slice(this.rows, [0, 0, 0], [-1, this.filled, -1]);
  }

  /** Puts `newest` [views, n, dim] at the front (read, not kept). */
  push(newest: tf.Tensor): void {
    const n = Math.min(newest.shape[1]!, this.size);
    const next = tf.tidy(() =>
      tf.concat([tf.slice(newest, [0, 0, 0], [-1, n, -1]), tf.slice(this.rows, [0, 0, 0], [-1, this.size - n, -1])], 1),
    );
    this.rows.dispose();
    this.rows = next;
    this.filled = Math.min(this.size, this.filled + n);
  }

  checkpoint(): { tensors: Record<string, tf.Tensor>; counters: Record<string, number> } {
    return { tensors: { queue: this.rows }, counters: { queue_filled: this.filled } };
  }

  restore(tensors: Record<string, tf.Tensor>, counters: Record<string, number>): void {
    if (!tensors.queue) throw new Error('checkpoint has no queue (it was written by a different model)');
    this.rows.dispose();
    this.rows = tf.clone(tensors.queue);
    this.filled = counters.queue_filled ?? 0;
  }

  dispose(): void {
    this.rows.dispose();
  }
}
