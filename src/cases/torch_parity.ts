/**
 * The PyTorch side of the learning-parity check: a trial as bench/parity/torch_ssl.py's plan (the same
 * method configuration, augmentation recipe, patch budget, images and probe splits our runner uses), the
 * script run on Debian's PyTorch, and its one-line result read back.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dataset } from '../../datasets/types.js';
import type { EvalSplits } from '../eval/splits.js';
import { configureMethod } from '../runner/trial.js';
import type { Trial } from '../runner/trials.js';
import type { MethodConfig } from '../../methods/method.js';

export const TORCH_PARITY_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/parity/torch_ssl.py');
export const PYTHON = '/usr/bin/python3';

export interface TorchResult {
  status: 'ok' | 'diverged';
  error: string | null;
  steps: number;
  crops: number;
  train_seconds: number;
  linear: number | null;
  knn20: number | null;
  [key: string]: unknown;
}

/**
 * The plan's model fields (MODEL_FIELDS in the script): what builds the model and its optimizer from our
 * method configuration. Throws for what the PyTorch reference does not do.
 */
export function torchModelPlan(
  m: MethodConfig,
  backbone: string,
  inChannels: number,
  seed: number,
  threads: number,
): Record<string, unknown> {
  if (m.name !== 'simclr' && m.name !== 'byol') throw new Error(`the PyTorch reference trains simclr and byol, not ${m.name}`);
  const o = m.optimizer;
  if (o.stepScales) throw new Error('the PyTorch reference has one step size for every module; remove stepScales from the parity suite');
  if (o.warmupSteps) throw new Error('the PyTorch reference has no warm-up step floor; remove warmupSteps from the parity suite');
  return {
    schema: 'ssl-budget-bench/torch-parity-plan@1',
    method: m.name,
    seed,
    threads,
    backbone,
    in_channels: inChannels,
    projector: m.projector,
    projector_batch_norm: m.projectorBatchNorm ?? true,
    predictor: m.predictor ?? null,
    loss: m.name === 'simclr' ? { temperature: m.params.temperature } : {},
    ema: m.name === 'byol' ? { start: m.params.emaStart, end: m.params.emaEnd } : null,
    optimizer: {
      kind: o.kind,
      lr: o.lr,
      weight_decay: o.weightDecay,
      momentum: o.momentum,
      nesterov: o.nesterov ?? false,
      warmup: o.warmup ?? 0,
      ...(o.kind === 'lars' ? { eta: o.eta ?? 1e-3, clip: o.clip ?? false } : {}),
    },
    batch_images: m.batchImages,
    joint_batch_norm: m.jointBatchNorm ?? false,
  };
}

/** The plan (schema in the script's docstring) for one trial with a patch budget. */
export function torchPlan(trial: Trial, dataset: Dataset, splits: EvalSplits, threads: number): Record<string, unknown> {
  if (trial.budget.kind !== 'patches') throw new Error(`parity runs at a patch budget (machine-independent), got ${trial.budget.kind}`);
  if (!dataset.files) throw new Error(`${dataset.name} is not stored as IDX files: the PyTorch side cannot read it`);
  const m = configureMethod(trial, dataset.imageShape);
  const e = trial.evaluation;
  return {
    ...torchModelPlan(m, trial.backbone, dataset.imageShape[2], trial.seed, threads),
    budget_crops: trial.budget.amount,
    recipe: m.recipe,
    data: {
      format: 'idx',
      train_images: dataset.files.train.images,
      train_labels: dataset.files.train.labels,
      test_images: dataset.files.test.images,
      test_labels: dataset.files.test.labels,
      image_shape: dataset.imageShape,
      classes: dataset.classes.length,
    },
    eval: {
      layer: e.layer,
      train_indices: Array.from(splits.train.indices),
      val_indices: Array.from(splits.val.indices),
      test_indices: Array.from(splits.test.indices),
      knn: e.knn,
      linear: {
        solver: e.linear.solver,
        iterations: e.linear.iterations,
        lr: e.linear.lr,
        weight_decays: e.linear.weightDecays,
      },
    },
  };
}

/** Runs the script with `args` and parses its last stdout line; its progress (stderr) is kept for the error message. */
function runScript<T>(args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [TORCH_PARITY_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => reject(new Error(`cannot start ${PYTHON}: ${e.message} (apt-get install python3-torch)`)));
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last)
        reject(new Error(`${TORCH_PARITY_SCRIPT} ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      else resolve(JSON.parse(last) as T);
    });
  });
}

/** Runs the script on a plan written to `planFile`. */
export function runTorchPlan(plan: Record<string, unknown>, planFile: string): Promise<TorchResult> {
  fs.writeFileSync(planFile, `${JSON.stringify(plan)}\n`);
  return runScript<TorchResult>([planFile]);
}

export interface ReplayStep {
  progress: number;
  /** One NHWC block per view spec, as AugmentedBatch.views. */
  views: { shape: number[]; data: Float32Array }[];
}

const toBase64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

function fromBase64(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/**
 * The same steps in PyTorch (the script's --replay): the model `modelPlan` builds, loaded with `params` (our
 * names and layouts), stepped on the given crops in `dtype`. Returns each step's loss and the parameters after it.
 */
export async function replayOnTorch(
  modelPlan: Record<string, unknown>,
  params: Record<string, { shape: number[]; data: Float32Array }>,
  images: number,
  steps: ReplayStep[],
  dtype: 'float32' | 'float64',
  file: string,
): Promise<{ loss: number; params: Record<string, Float32Array> }[]> {
  const spec = {
    plan: modelPlan,
    params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, { shape: v.shape, data: toBase64(v.data) }])),
    images,
    dtype,
    steps: steps.map((s) => ({ progress: s.progress, views: s.views.map((v) => ({ shape: v.shape, data: toBase64(v.data) })) })),
  };
  fs.writeFileSync(file, JSON.stringify(spec));
  const out = await runScript<{ steps: { loss: number; params: Record<string, string> }[] }>(['--replay', file]);
  return out.steps.map((s) => ({ loss: s.loss, params: Object.fromEntries(Object.entries(s.params).map(([k, v]) => [k, fromBase64(v)])) }));
}

/** Whether Debian's PyTorch is importable (the parity check's requirement). */
export function torchAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}
