/**
 * npm run bench:augment -- [--recipe=emp-ssl|solo|swav] [--images=N] [--patches=N] [--time=MS] [--json]
 *
 * Augmented crops per second of one batch through a recipe (tinybench, single thread), from synthetic
 * 32x32 images. Compare with the engine's crops per second (npm run bench:engine): the pipeline must
 * never be what a training step waits for.
 */
import { Bench } from 'tinybench';
import { augmentBatch } from '../datasets/augment/pipeline.js';
import { empSslPatches, soloLearnCifar, swavMultiCrop, type Recipe } from '../datasets/augment/recipes.js';
import { parseFlags, parseIntFlag, runMain, UsageError } from '../src/cli.js';
import { Rng } from '../engine/random.js';
import { randomCifarImages } from '../src/cases/inputs.js';

const USAGE = `usage: npm run bench:augment -- [options]

Measures augmented crops per second for a recipe on 32x32 images (one thread).

options:
  --recipe=NAME   emp-ssl (default, 20 patches per image) | solo (2 views) | swav (2x32 + 6x18)
  --images=N      images per batch (default 10)
  --patches=N     EMP-SSL patches per image (default 20)
  --time=MS       measuring time (default 3000)
  --json          one JSON object on stdout`;

runMain(async () => {
  const { values } = parseFlags(
    process.argv.slice(2),
    {
      recipe: { type: 'string' },
      images: { type: 'string' },
      patches: { type: 'string' },
      time: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const images = parseIntFlag('images', values.images, 10);
  const patches = parseIntFlag('patches', values.patches, 20);
  const recipes: Record<string, () => Recipe> = {
    'emp-ssl': () => empSslPatches(patches),
    solo: () => soloLearnCifar(),
    swav: () => swavMultiCrop(),
  };
  const name = values.recipe ?? 'emp-ssl';
  if (!recipes[name]) throw new UsageError(`unknown --recipe=${name}; valid: ${Object.keys(recipes).join(', ')}`);
  const recipe = recipes[name]();

  const rng = new Rng(0);
  const batch = randomCifarImages(images, rng.fork('images'));
  let crops = 0;
  const bench = new Bench({ time: parseIntFlag('time', values.time, 3000) });
  bench.add(recipe.name, () => {
    crops = augmentBatch(batch, images, 32, 32, recipe, rng).crops;
  });
  await bench.run();
  const result = bench.tasks[0].result;
  if (result.state !== 'completed') throw new Error(`benchmark did not complete: ${result.state}`);
  const report = {
    case: 'augment',
    recipe: recipe.name,
    images_per_batch: images,
    crops_per_batch: crops,
    ms_per_batch_median: result.latency.p50,
    ms_per_batch_mean: result.latency.mean,
    crops_per_second: (crops * 1000) / result.latency.p50,
    threads: 1,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else
    console.log(
      `${recipe.name}: ${crops} crops per batch of ${images} images, ${report.ms_per_batch_median.toFixed(2)} ms median -> ${report.crops_per_second.toFixed(0)} crops/s (1 thread)`,
    );
});
