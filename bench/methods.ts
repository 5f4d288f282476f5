/**
 * npm run bench:methods -- [--methods=a,b] [--backbone=NAME] [--images=N] [--steps=N] [--backend=NAME] [--json]
 *
 * Training crops per second of each method at its default views and heads (augmentation off the clock),
 * on the synthetic set.
 */
import { augmentBatch } from '../datasets/augment/pipeline.js';
import { getMethod, METHODS } from '../methods/registry.js';
import { SslModel } from '../src/model/ssl_model.js';
import { BACKEND_CHOICES, describeBackend, initBackend } from '../engine/backends/select.js';
import { parseBackendFlag, parseFlags, parseIntFlag, runMain, UsageError } from '../src/cli.js';
import { Rng } from '../engine/random.js';
import { cyclicLabels, randomCifarImages } from '../src/cases/inputs.js';

const USAGE = `usage: npm run bench:methods -- [options]

Training crops per second of each method (default views and heads), augmentation excluded.

options:
  --methods=a,b    default: all (${Object.keys(METHODS).join(', ')})
  --backbone=NAME  default resnet-small-cifar
  --images=N       images per step (default 32)
  --steps=N        timed steps after one warm-up (default 3; the median is reported)
  --backend=NAME   ${BACKEND_CHOICES.join('|')} (default auto)
  --json           one JSON object per method`;

runMain(async () => {
  const { values } = parseFlags(
    process.argv.slice(2),
    {
      methods: { type: 'string' },
      backbone: { type: 'string' },
      images: { type: 'string' },
      steps: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  // random-init takes no step: nothing to time.
  const names = values.methods ? values.methods.split(',') : Object.keys(METHODS).filter((m) => getMethod(m).role !== 'floor');
  for (const n of names) if (!METHODS[n]) throw new UsageError(`unknown method "${n}"; valid: ${Object.keys(METHODS).join(', ')}`);
  const backendChoice = parseBackendFlag(values.backend);
  const images = parseIntFlag('images', values.images, 32, 2);
  const steps = parseIntFlag('steps', values.steps, 3);
  const backbone = values.backbone ?? 'resnet-small-cifar';
  const backend = await initBackend({ backend: backendChoice });
  const log = (s: string) => (values.json ? process.stderr : process.stdout).write(`${s}\n`);
  log(describeBackend(backend));
  const pool = randomCifarImages(images * (steps + 1), new Rng(1));
  const labels = cyclicLabels(images);
  for (const name of names) {
    const method = getMethod(name);
    const model = new SslModel(method, backbone, 0, { classes: 10 });
    const rng = new Rng(0);
    const times: number[] = [];
    let crops = 0;
    try {
      for (let s = 0; s <= steps; s++) {
        const batch = augmentBatch(pool.subarray(s * images * 3072, (s + 1) * images * 3072), images, 32, 32, method.recipe, rng);
        crops = batch.crops;
        const t0 = process.hrtime.bigint();
        await model.step(batch, images, s / (steps + 1), labels);
        if (s > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
    } finally {
      model.dispose();
    }
    times.sort((a, b) => a - b);
    const seconds = times[times.length >> 1];
    const row = {
      method: name,
      backbone,
      backend: backend.label,
      images_per_step: images,
      crops_per_step: crops,
      seconds_per_step: seconds,
      crops_per_second: crops / seconds,
    };
    if (values.json) process.stdout.write(`${JSON.stringify(row)}\n`);
    else
      log(
        `${name.padEnd(16)} ${String(crops).padStart(5)} crops/step  ${seconds.toFixed(2)} s/step  ${(crops / seconds).toFixed(1)} crops/s`,
      );
  }
});
