/**
 * Augmentation off the training thread: `workers` worker threads each run augmentBatch on whole batches,
 * so the next steps' crops are cut while the current step computes. A batch is a pure function of its
 * images, recipe and seed, so results do not depend on the worker count (0 runs inline, on this thread).
 */
import { Worker } from 'node:worker_threads';
import { Rng } from '../../engine/random.js';
import { type AugmentedBatch, augmentBatch } from './pipeline.js';
import type { Recipe } from './recipes.js';

export interface AugmentRequest {
  id: number;
  images: Uint8Array;
  count: number;
  height: number;
  width: number;
  recipe: Recipe;
  seed: number;
}

export type AugmentResponse = { id: number; batch: AugmentedBatch; error?: undefined } | { id: number; batch?: undefined; error: string };

interface Pending {
  resolve: (batch: AugmentedBatch) => void;
  reject: (e: Error) => void;
  thread: number;
}

export class AugmentPool {
  private readonly threads: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  /** Requests in flight per thread: a thread keeps the process alive only while it holds one. */
  private readonly busy: number[] = [];
  private nextId = 0;
  private failure: Error | null = null;

  constructor(readonly workers: number) {
    if (!Number.isInteger(workers) || workers < 0) throw new Error(`input workers must be a whole number >= 0, got ${workers}`);
    for (let i = 0; i < workers; i++) {
      const thread = new Worker(new URL('./worker_boot.mjs', import.meta.url));
      thread.on('message', (m: AugmentResponse) => this.settle(m));
      thread.on('error', (e) => this.fail(new Error(`an augmentation worker failed: ${e.message}`)));
      thread.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`an augmentation worker exited with code ${code}`));
      });
      // An idle pool never keeps the process alive. A pending request must: a promise alone does not hold
      // Node's event loop open, and a backend with nothing else on the loop (webgpu) would exit mid-trial.
      thread.unref();
      this.threads.push(thread);
      this.busy.push(0);
    }
  }

  /** Augments `count` uint8 NHWC images with `recipe`, drawing from `new Rng(seed)` (as augmentBatch would). */
  augment(images: Uint8Array, count: number, height: number, width: number, recipe: Recipe, seed: number): Promise<AugmentedBatch> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.threads.length === 0) {
      try {
        return Promise.resolve(augmentBatch(images, count, height, width, recipe, new Rng(seed)));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    const id = this.nextId++;
    // The images' buffer moves to the worker: never a view into a larger one (e.g. a dataset held in memory).
    const owned = images.byteOffset === 0 && images.byteLength === images.buffer.byteLength ? images : images.slice();
    const request: AugmentRequest = { id, images: owned, count, height, width, recipe, seed };
    return new Promise((resolve, reject) => {
      // Round robin: requests are issued in step order, so each worker holds every n-th step.
      const t = id % this.threads.length;
      this.pending.set(id, { resolve, reject, thread: t });
      if (this.busy[t]++ === 0) this.threads[t].ref();
      this.threads[t].postMessage(request, [owned.buffer as ArrayBuffer]);
    });
  }

  private settle(m: AugmentResponse): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    this.release(p.thread);
    if (m.batch) p.resolve(m.batch);
    else p.reject(new Error(`augmentation failed: ${m.error}`));
  }

  private release(thread: number): void {
    if (--this.busy[thread] === 0) this.threads[thread]?.unref();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) {
      this.release(p.thread);
      p.reject(e);
    }
    this.pending.clear();
  }

  /** Stops the threads; requests still pending are rejected. */
  async close(): Promise<void> {
    this.fail(new Error('the augmentation pool was closed'));
    await Promise.all(this.threads.map((t) => t.terminate()));
    this.threads.length = 0;
  }
}
