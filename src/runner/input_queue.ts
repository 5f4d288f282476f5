/**
 * The training input of each step, prepared ahead: step s reads the images batchIndices picks for it and
 * cuts them with the stream `augment s`, both pure functions of the trial's seed and s, so the batches are
 * the same whether they are made here or on an AugmentPool's workers, and whatever the number of workers.
 * `depth` steps are kept in flight (a bounded queue); what a step still has to wait for is its input wait.
 */
import type { AugmentPool } from '../../datasets/augment/augment_pool.js';
import type { AugmentedBatch } from '../../datasets/augment/pipeline.js';
import type { Recipe } from '../../datasets/augment/recipes.js';
import type { Dataset } from '../../datasets/types.js';
import type { Rng } from '../../engine/random.js';

export interface StepInput {
  batch: AugmentedBatch;
  /** Class labels of the batch's images (supervised rows only). */
  labels?: Int32Array;
}

/** The images of the `count`-image batch that starts at image `consumed` of an endless shuffled stream (one permutation per epoch). */
export function batchIndices(rng: Rng, size: number, consumed: number, count: number): Int32Array {
  const out = new Int32Array(count);
  let epoch = -1;
  let order: Int32Array | null = null;
  for (let i = 0; i < count; i++) {
    const n = consumed + i;
    const e = Math.floor(n / size);
    if (e !== epoch) {
      epoch = e;
      order = rng.fork(`epoch ${e}`).permutation(size);
    }
    out[i] = order![n % size];
  }
  return out;
}

export class InputQueue {
  private readonly ahead = new Map<number, Promise<StepInput>>();

  constructor(
    private readonly pool: AugmentPool,
    private readonly dataset: Dataset,
    private readonly rng: Rng,
    private readonly images: number,
    private readonly recipe: Recipe,
    private readonly withLabels: boolean,
    /** Steps prepared ahead of the one being taken (0: each batch is made when its step asks). */
    private readonly depth: number,
  ) {}

  /** The input of step `step`, which starts at image `consumed`; also queues the next `depth` steps. */
  take(step: number, consumed: number): Promise<StepInput> {
    for (const s of this.ahead.keys()) if (s < step) this.discard(s);
    for (let k = 0; k <= this.depth; k++) {
      if (!this.ahead.has(step + k)) this.ahead.set(step + k, this.prepare(step + k, consumed + k * this.images));
    }
    const input = this.ahead.get(step)!;
    this.ahead.delete(step);
    return input;
  }

  /** Drops the batches prepared ahead (the budget ended, or the trial failed). */
  clear(): void {
    for (const s of [...this.ahead.keys()]) this.discard(s);
  }

  private discard(step: number): void {
    // A batch nobody takes may still fail (e.g. the pool closes): that is not this trial's error.
    this.ahead.get(step)?.catch(() => {});
    this.ahead.delete(step);
  }

  private async prepare(step: number, consumed: number): Promise<StepInput> {
    const { train } = this.dataset;
    const [h, w] = this.dataset.imageShape;
    const indices = batchIndices(this.rng, train.size, consumed, this.images);
    const labels = this.withLabels ? Int32Array.from(indices, (i) => train.labels[i]) : undefined;
    const seed = this.rng.fork(`augment ${step}`).seed;
    const batch = await this.pool.augment(train.readImages(indices), this.images, h, w, this.recipe, seed);
    return { batch, labels };
  }
}
