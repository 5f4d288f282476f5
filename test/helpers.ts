import fs from 'node:fs';
import path from 'node:path';
import { adaptRecipe } from '../datasets/augment/recipes.js';
import { CIFAR10_DIR } from '../datasets/cifar.js';
import type { MethodConfig } from '../methods/method.js';
import { ROW_SCHEMA, type ResultRow } from '../src/results/rows.js';

/** ||got - expected|| / ||expected|| over flattened values (the reference files' definition). */
export function relativeError(got: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (got.length !== expected.length) throw new Error(`length ${got.length} != expected ${expected.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < got.length; i++) {
    num += (got[i] - expected[i]) ** 2;
    den += expected[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** A parameter tree's values, flattened in name order (for one relative error over a whole tree). */
export function flatTree(tree: Record<string, Float32Array>): number[] {
  return Object.keys(tree)
    .sort()
    .flatMap((n) => Array.from(tree[n]));
}

/** A method with small heads: the same code at smaller sizes, for tests. */
/** The method's views for the built-in synthetic set (32x32, one grey channel). */
export function greyViews(method: MethodConfig): MethodConfig {
  return { ...method, recipe: adaptRecipe(method.recipe, 32, 1) };
}

export function smallHeads(method: MethodConfig): MethodConfig {
  return {
    ...method,
    projector: method.projector.map((_, i, a) => (i === a.length - 1 ? 32 : 64)),
    predictor: method.predictor ? [64, 32] : undefined,
    // Own settings that size state: SwAV's prototypes, a queue.
    params: {
      ...method.params,
      ...('prototypes' in method.params ? { prototypes: 20 } : {}),
      ...('queueSize' in method.params ? { queueSize: 64 } : {}),
    },
  };
}

/** A results row with plausible defaults, for tests of what reads rows. */
export function resultRow(over: Partial<ResultRow> = {}): ResultRow {
  return {
    schema: ROW_SCHEMA,
    run_id: 'r',
    trial_id: 't1',
    method: 'simclr',
    label: 'simclr',
    dataset: 'synthetic',
    backbone: 'resnet-small',
    seed: 0,
    budget_kind: 'steps',
    budget_amount: 10,
    batch_images: 8,
    crops_per_step: 16,
    point: 0,
    fraction: 0.5,
    final: false,
    status: 'ok',
    train_seconds: 1,
    train_flops: 1e9,
    crops: 80,
    images: 40,
    steps: 5,
    epochs: 0.1,
    loss: 1,
    lr: 0.1,
    eval_seconds: 0.5,
    metrics: { knn20: 0.5, linear: 0.6 },
    memory: { tensor_peak_bytes: 1, step_peak_bytes: 2, rss_peak_bytes: 3, gpu_peak_bytes: null },
    time: 'now',
    ...over,
  };
}

/**
 * Whether the webgpu backend can run here (Dawn's binding and a Vulkan driver: a GPU, or Mesa >= 25's
 * lavapipe on a CPU-only machine). Under CI it must: .ci/run installs lavapipe, and a missing driver
 * would otherwise silently skip every webgpu test.
 */
export async function webgpuAvailable(): Promise<boolean> {
  const { findGpuAdapter } = await import('../engine/backends/webgpu.js');
  let reason: string;
  try {
    if (await findGpuAdapter()) return true;
    reason = 'no WebGPU adapter';
  } catch (e) {
    reason = (e as Error).message;
  }
  if (process.env.CI)
    throw new Error(`webgpu tests cannot run under CI: ${reason} (.ci/run installs mesa-vulkan-drivers from bookworm-backports)`);
  return false;
}

/** Backends a backend-generic test runs on: the given ones, plus webgpu where it can run. */
export async function backendsUnderTest<T extends string>(...always: T[]): Promise<(T | 'webgpu')[]> {
  return (await webgpuAvailable()) ? [...always, 'webgpu'] : always;
}

/** A CIFAR-style record: label bytes then 3072 planar pixel bytes with a recognisable pattern. */
export function cifarRecord(labels: number[], seed: number): Buffer {
  const b = Buffer.alloc(labels.length + 3072);
  labels.forEach((l, i) => (b[i] = l));
  for (let i = 0; i < 3072; i++) b[labels.length + i] = (i * 7 + seed * 13) % 256;
  return b;
}

/** A small CIFAR-10-format copy under ROOT/cifar-10-batches-bin (one train batch file, as in no official copy). */
export function fakeCifar10(root: string, trainRecords: Buffer[], testRecords: Buffer[], names = 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n'): string {
  const dir = path.join(root, CIFAR10_DIR);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'data_batch_1.bin'), Buffer.concat(trainRecords));
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), Buffer.concat(testRecords));
  fs.writeFileSync(path.join(dir, 'batches.meta.txt'), names);
  return root;
}

/** `n` records with labels cycling over the ten classes. */
export function cifarRecords(n: number, seed = 0): Buffer[] {
  return Array.from({ length: n }, (_, i) => cifarRecord([i % 10], seed + i));
}

/** Evaluation for tiny test suites: two points, small probe splits, a short probe (add bag and testCost). */
export const TINY_EVALUATION = { fractions: [0.5, 1], maxTrainImages: 60, maxTestImages: 30, linear: { iterations: 20, lr: 0.05 } };

/**
 * Writes a tiny suite file (SimCLR at 8 images, 4 steps, on the synthetic set with resnet-small) into `dir` as
 * NAME.json with `evaluation` and the fields of `over`; returns its path. For tests that run `npm run bench`.
 */
export function writeTinySuite(dir: string, name: string, evaluation: Record<string, unknown>, over: Record<string, unknown> = {}): string {
  const file = path.join(dir, `${name}.json`);
  const suite = {
    name,
    methods: [{ method: 'simclr', batchImages: 8 }],
    datasets: ['synthetic'],
    backbone: 'resnet-small',
    budgets: ['steps:4'],
    evaluation,
    ...over,
  };
  fs.writeFileSync(file, JSON.stringify(suite));
  return file;
}
