/**
 * The images evaluation uses, fixed per dataset (not per trial, so every method is scored on the same
 * images): a validation split carved from the training split for model selection, the rest of the
 * training split as the labelled bank / probe training set, and the test split. Optional caps keep
 * evaluation affordable on short budgets; caps take seeded random subsets.
 */
import type { Dataset } from '../../datasets/types.js';
import { Rng } from '../../engine/random.js';

export interface EvalSplit {
  indices: Int32Array;
  labels: Int32Array;
}

export interface EvalSplits {
  train: EvalSplit;
  val: EvalSplit;
  test: EvalSplit;
}

function pick(indices: Int32Array, labels: Int32Array): EvalSplit {
  return { indices, labels: indices.map((i) => labels[i]) };
}

export function evalSplits(
  dataset: Dataset,
  options: { valFraction: number; maxTrainImages: number | null; maxTestImages: number | null },
): EvalSplits {
  const rng = new Rng(0).fork(`eval-splits/${dataset.name}`);
  const train = rng
    .fork('train')
    .permutation(dataset.train.size)
    .slice(0, options.maxTrainImages ?? dataset.train.size);
  const nVal = Math.max(1, Math.round(train.length * options.valFraction));
  if (train.length - nVal < 2) throw new Error(`evaluation needs at least 3 training images, ${dataset.name} gives ${train.length}`);
  const test = rng
    .fork('test')
    .permutation(dataset.test.size)
    .slice(0, options.maxTestImages ?? dataset.test.size);
  // Sorted indices read the image cache in order.
  const sorted = (a: Int32Array) => a.slice().sort();
  return {
    val: pick(sorted(train.slice(0, nVal)), dataset.train.labels),
    train: pick(sorted(train.slice(nVal)), dataset.train.labels),
    test: pick(sorted(test), dataset.test.labels),
  };
}
