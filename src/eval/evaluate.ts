/**
 * One evaluation point, off the training clock: features of the evaluation splits from the frozen
 * encoder (centre view, and bags of K patches), then kNN and the linear probe. Returns flat named metrics
 * (accuracies in [0, 1]) for the results rows, named by src/results/metric_keys.ts:
 *   knn20, knn200            weighted kNN top-1 on test (bank: train minus validation)
 *   linear, linear_val       linear probe top-1 on test and validation; linear_wd the chosen weight decay
 *   bag16_linear_mean/_std   the probe on bag-of-features with K = 16 patches, over R draws of the test
 *   bag16_knn20_mean/_std    images' patches (the probe's weight decay is the one chosen for the centre view)
 *   matched_linear_mean,     the centre view on the bags' own training and test images (the single view's
 *   matched_knn20_mean       regulariser): what a bag is compared with, probe for probe
 *   authors_linear_mean/_std, authors_knn20_mean/_std, authors_linear_wd
 *                            the method's authors' own protocol where the suite names one (EMP-SSL: the mean
 *                            pre-feature of 128 of its training patches), its weight decay chosen on validation
 */
import { adaptRecipe, empSslPatches, type Recipe } from '../../datasets/augment/recipes.js';
import type { Dataset, Split } from '../../datasets/types.js';
import { cropsFor, embedCrops, type EmbeddingLayer } from './embed.js';
import type { AugmentPool } from '../../datasets/augment/augment_pool.js';
import type { SslModel } from '../model/ssl_model.js';
import type { Rng } from '../../engine/random.js';
import { mean, sd } from '../stats.js';
import { knnAccuracy, type Features } from './knn.js';
import { linearProbe, type LinearSettings, type ProbeResult } from './linear_probe.js';
import { logisticProbe } from './logistic_probe.js';
import type { EvalSplit, EvalSplits } from './splits.js';
import { metricKey, type Protocol } from '../results/metric_keys.js';

export interface EvaluateOptions {
  layer: EmbeddingLayer;
  knn: { k: number[]; temperature: number };
  linear: LinearSettings;
  /**
   * Bag-of-features sizes to evaluate now (empty: centre view only), test draws of each, split caps, and the
   * recipe whose first view makes the patches (bagRecipe: one for every method, in the method's normalisation).
   */
  bag: { patches: number[]; repeats: number; maxTrainImages: number | null; maxTestImages: number | null; recipe: Recipe };
  /** Cuts the bags' patches on worker threads (absent: on this thread); the same patches either way. */
  pool?: AugmentPool;
  /** The method's authors' protocol, evaluated with the bags: its layer, bag size and patch recipe. */
  authors?: { layer: EmbeddingLayer; patches: number; recipe: Recipe };
}

/** Crops per forward pass during evaluation (bounds memory). */
const CROPS_PER_CHUNK = 1024;

async function features(
  model: SslModel,
  split: Split,
  indices: Int32Array,
  dataset: Dataset,
  recipe: Recipe,
  layer: EmbeddingLayer,
  patches: number | null,
  rng: Rng,
  pool?: AugmentPool,
): Promise<Features> {
  const [h, w] = dataset.imageShape;
  const perChunk = Math.max(1, Math.floor(CROPS_PER_CHUNK / (patches ?? 1)));
  const starts = Array.from({ length: Math.ceil(indices.length / perChunk) }, (_, i) => i * perChunk);
  const crops = (start: number) => {
    const ids = indices.subarray(start, start + perChunk);
    return cropsFor(split.readImages(ids), ids.length, h, w, { layer, patches, recipe, rng: rng.fork(`chunk ${start}`) }, pool);
  };
  const parts: Float32Array[] = [];
  // The next chunk's patches are cut (on the pool's workers) while this one runs through the network.
  let next = crops(0);
  for (let c = 0; c < starts.length; c++) {
    const block = await next;
    if (c + 1 < starts.length) next = crops(starts[c + 1]);
    parts.push(await embedCrops(model, block, Math.min(perChunk, indices.length - starts[c]), layer));
  }
  const dim = parts[0].length / Math.min(perChunk, indices.length);
  const data = new Float32Array(indices.length * dim);
  let offset = 0;
  for (const p of parts) {
    data.set(p, offset);
    offset += p.length;
  }
  return { data, count: indices.length, dim };
}

type Labelled = { x: Features; y: Int32Array };

/**
 * The recipe bags draw their patches from: EMP-SSL's fixed-area patches for every method (one protocol, so
 * bag accuracies compare across methods; in the method's normalisation, which its network was trained on),
 * or `own`: the method's first training view. `methodRecipe` is already adapted to the dataset.
 */
export function bagRecipe(kind: 'emp-ssl-patches' | 'own', methodRecipe: Recipe, imageSide: number, channels: number): Recipe {
  if (kind === 'own') return methodRecipe;
  const patches = adaptRecipe(empSslPatches(1), imageSide, channels);
  return { ...patches, views: [{ ...patches.views[0], normalize: methodRecipe.views[0].normalize }] };
}

/** The suite's linear probe; `regularisers` limits the choice (the bags reuse the centre view's). */
function probe(
  train: Labelled,
  val: Labelled,
  tests: Labelled[],
  classes: number,
  settings: LinearSettings,
  regularisers?: number[],
): Promise<ProbeResult> {
  if (settings.solver === 'lbfgs') return logisticProbe(train, val, tests, classes, regularisers ?? settings.weightDecays);
  return linearProbe(train, val, tests, classes, regularisers ? { ...settings, weightDecays: regularisers } : settings);
}

/** Positions of at most `max` evenly spaced entries of a split of `n`. */
function subsamplePositions(n: number, max: number | null): Int32Array {
  if (max === null || n <= max) return Int32Array.from({ length: n }, (_, i) => i);
  const step = n / max;
  return Int32Array.from({ length: max }, (_, i) => Math.floor(i * step));
}

/** At most `max` evenly spaced entries of a split. */
function subsample(split: EvalSplit, max: number | null): EvalSplit {
  const keep = subsamplePositions(split.indices.length, max);
  return { indices: keep.map((i) => split.indices[i]), labels: keep.map((i) => split.labels[i]) };
}

/** The rows of `f` at `positions`. */
function rowsOf(f: Features, positions: Int32Array): Features {
  const data = new Float32Array(positions.length * f.dim);
  for (let i = 0; i < positions.length; i++) data.set(f.data.subarray(positions[i] * f.dim, (positions[i] + 1) * f.dim), i * f.dim);
  return { data, count: positions.length, dim: f.dim };
}

export async function evaluate(
  model: SslModel,
  dataset: Dataset,
  splits: EvalSplits,
  recipe: Recipe,
  options: EvaluateOptions,
  rng: Rng,
): Promise<Record<string, number>> {
  // The centre view needs no randomness; the bags below draw theirs from forks of rng.
  const centreOf = (split: EvalSplit, which: Split) => features(model, which, split.indices, dataset, recipe, options.layer, null, rng);
  const classes = dataset.classes.length;
  const centre = {
    train: await centreOf(splits.train, dataset.train),
    val: await centreOf(splits.val, dataset.train),
    test: await centreOf(splits.test, dataset.test),
  };
  const knn = await knnAccuracy(
    centre.train,
    splits.train.labels,
    centre.test,
    splits.test.labels,
    options.knn.k,
    options.knn.temperature,
    classes,
  );
  const centreProbe = await probe(
    { x: centre.train, y: splits.train.labels },
    { x: centre.val, y: splits.val.labels },
    [{ x: centre.test, y: splits.test.labels }],
    classes,
    options.linear,
  );
  const metrics: Record<string, number> = {
    [metricKey({ protocol: 'single', probe: 'linear', stat: 'test' })]: centreProbe.tests[0],
    [metricKey({ protocol: 'single', probe: 'linear', stat: 'val' })]: centreProbe.val,
    [metricKey({ protocol: 'single', probe: 'linear', stat: 'wd' })]: centreProbe.weightDecay,
  };
  for (const k of options.knn.k) metrics[metricKey({ protocol: 'single', probe: 'knn', k })] = knn[k];
  // Bags: one draw of the training images' patches trains the probe (the centre view's regulariser, no
  // second choice) and the kNN bank; each repeat draws the test images' patches anew, so the spread over
  // repeats is the test-time randomness of the protocol.
  const bagTrainAt = subsamplePositions(splits.train.indices.length, options.bag.maxTrainImages);
  const bagTestAt = subsamplePositions(splits.test.indices.length, options.bag.maxTestImages);
  const bagTrain = subsample(splits.train, options.bag.maxTrainImages);
  const bagTest = subsample(splits.test, options.bag.maxTestImages);
  const k = options.knn.k[0];
  const bagged = async (
    protocol: Exclude<Protocol, { protocol: 'single' }>,
    layer: EmbeddingLayer,
    recipe: Recipe,
    patches: number,
    regularisers?: number[],
  ) => {
    // The random streams' names predate the metric keys: "bag 16", "authors".
    const draw = rng.fork(protocol.protocol === 'bag' ? `bag ${patches}` : protocol.protocol);
    const bag = (split: EvalSplit, which: Split, r: Rng) =>
      features(model, which, split.indices, dataset, recipe, layer, patches, r, options.pool);
    const train = { x: await bag(bagTrain, dataset.train, draw.fork('train')), y: bagTrain.labels };
    const tests: Labelled[] = [];
    for (let r = 0; r < options.bag.repeats; r++)
      tests.push({ x: await bag(bagTest, dataset.test, draw.fork(`test ${r}`)), y: bagTest.labels });
    // Without given regularisers (another layer than the centre view's), the probe chooses on validation images' bags.
    const bagVal = subsample(splits.val, options.bag.maxTestImages);
    const val = regularisers ? tests[0] : { x: await bag(bagVal, dataset.train, draw.fork('val')), y: bagVal.labels };
    const knnBag: number[] = [];
    for (const t of tests) knnBag.push((await knnAccuracy(train.x, train.y, t.x, t.y, [k], options.knn.temperature, classes))[k]);
    const fit = await probe(train, val, tests, classes, options.linear, regularisers);
    metrics[metricKey({ ...protocol, probe: 'linear', stat: 'mean' })] = mean(fit.tests);
    metrics[metricKey({ ...protocol, probe: 'linear', stat: 'std' })] = sd(fit.tests);
    metrics[metricKey({ ...protocol, probe: 'knn', k, stat: 'mean' })] = mean(knnBag);
    metrics[metricKey({ ...protocol, probe: 'knn', k, stat: 'std' })] = sd(knnBag);
    if (!regularisers) metrics[metricKey({ ...protocol, probe: 'linear', stat: 'wd' })] = fit.weightDecay;
  };
  for (const patches of options.bag.patches)
    await bagged({ protocol: 'bag', patches }, options.layer, options.bag.recipe, patches, [centreProbe.weightDecay]);
  if (options.bag.patches.length > 0) {
    // The single view on the bags' own images (same training and test images, same regulariser), so that a bag
    // is compared with one view under the same probe: the bags' probe trains on fewer images than the single view's.
    const train = { x: rowsOf(centre.train, bagTrainAt), y: bagTrain.labels };
    const test = { x: rowsOf(centre.test, bagTestAt), y: bagTest.labels };
    const fit = await probe(train, test, [test], classes, options.linear, [centreProbe.weightDecay]);
    const matchedKnn = await knnAccuracy(train.x, train.y, test.x, test.y, [k], options.knn.temperature, classes);
    metrics[metricKey({ protocol: 'matched', probe: 'linear', stat: 'mean' })] = fit.tests[0];
    metrics[metricKey({ protocol: 'matched', probe: 'knn', k, stat: 'mean' })] = matchedKnn[k];
  }
  if (options.authors) {
    const { layer, recipe, patches } = options.authors;
    await bagged({ protocol: 'authors' }, layer, recipe, patches);
  }
  return metrics;
}
