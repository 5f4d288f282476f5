/**
 * The engine benchmark's cases: one full training step (forward, backward, optimizer update) on shapes
 * that matter for the product, timed with the device synchronised at every step end.
 *
 *  - `resnet18-cifar`: ResNet-18 (CIFAR stem), 32 crops of 32x32, loss mean(features^2), SGD momentum 0.9
 *    (the shape of ../shared/reference/torch_step.py --mode backbone);
 *  - `emp-ssl`: the same backbone + EMP-SSL's 512-4096-4096-1024 projector on 10 images x 20 patches,
 *    with EMP-SSL's loss (total coding rate + invariance, as torch_step.py's emp-ssl mode). In one batch
 *    that is the method's step; with micro-batches (wasm) each holds every image with some of its patches
 *    and takes the loss over those, the same work as one batch though not the same gradient;
 *  - `resnet-small`: the small CPU backbone (basic blocks [1,1,1,1], widths 16-128) at 256 crops, the
 *    shape of `torch_step.py --mode backbone --backbone resnet-small`;
 *  - `simclr-small`: resnet-small + SimCLR's 2048-256 head (no batch norm) + NT-Xent (T 0.2) on 128 images
 *    x 2 views, the shape of `torch_step.py --mode simclr --backbone resnet-small`: the step CPU users train.
 */
import * as tf from '../../engine/tf.js';
import { loss as empSslLoss, SETTINGS as EMP_SSL_SETTINGS } from '../../methods/emp_ssl.js';
import { ownDefaults } from '../../methods/settings.js';
import { loss as simclrLoss, SETTINGS as SIMCLR_SETTINGS } from '../../methods/simclr.js';
import { forwardCost, trainingFlops } from '../../engine/flops.js';
import { type MlpOptions, mlpHead } from '../../engine/nn/mlp.js';
import type { ForwardContext, Module } from '../../engine/nn/module.js';
import { disposeModel, initModel } from '../../engine/nn/params.js';
import { makeBackbone } from '../../engine/nn/resnet.js';
import { Sgd } from '../../engine/optim/sgd.js';
import { Rng } from '../../engine/random.js';
import { trainStepAccumulated } from '../../engine/train/step.js';
import { median } from '../stats.js';

const EMP_SSL_PARAMS = ownDefaults(EMP_SSL_SETTINGS) as unknown as Parameters<typeof empSslLoss>[1];
const SIMCLR_PARAMS = ownDefaults(SIMCLR_SETTINGS) as unknown as Parameters<typeof simclrLoss>[1];

export interface EngineCase {
  name: string;
  backbone: string;
  head: number[] | null;
  headOptions?: MlpOptions;
  crops: number;
  resolution: number;
  /**
   * Default micro-batches per step on backends whose memory is bounded (wasm: 4 GB heap): gradients are
   * accumulated over them, so FLOPs per step are the same, only batch norm sees smaller batches.
   */
  wasmMicroBatches: number;
  /** Crops per step must be a multiple of this (EMP-SSL: whole images of 20 patches). */
  cropMultiple: number;
  /** The loss on the network's output for a micro-batch; `images` = crops per step / cropMultiple. */
  loss(output: tf.Tensor, images: number): tf.Scalar;
  /** Arguments for torch_step.py that reproduce the case in PyTorch at `crops` per step. */
  torchArgs(crops: number): string[];
  description: string;
}

export const ENGINE_CASES: EngineCase[] = [
  {
    name: 'resnet18-cifar',
    backbone: 'resnet18-cifar',
    head: null,
    crops: 32,
    resolution: 32,
    wasmMicroBatches: 1,
    cropMultiple: 1,
    loss: (y) => tf.mean(tf.square(y)) as tf.Scalar,
    torchArgs: (crops) => ['--mode', 'backbone', '--crops', String(crops)],
    description: 'ResNet-18 CIFAR stem, batch 32 of 32x32, fwd+bwd+SGD',
  },
  {
    name: 'emp-ssl',
    backbone: 'resnet18-cifar',
    head: [512, 4096, 4096, 1024],
    crops: 200,
    resolution: 32,
    // 200 crops need ~5 GB with tfjs's backprop, past the wasm heap: 4 micro-batches of 50 (one image set
    // of 10 images x 5 patches each).
    wasmMicroBatches: 4,
    cropMultiple: 20,
    // Crops are patch-major ([patches x images]), as the methods lay out their views.
    loss: (z, images) => empSslLoss({ z: tf.reshape(z, [-1, images, z.shape[1]!]) }, EMP_SSL_PARAMS).loss,
    torchArgs: (crops) => ['--mode', 'emp-ssl', '--images', String(crops / 20), '--patches', '20'],
    description: 'EMP-SSL step shape: ResNet-18 + 512-4096-4096-1024 projector, 10 images x 20 patches',
  },
  {
    name: 'resnet-small',
    backbone: 'resnet-small',
    head: null,
    crops: 256,
    resolution: 32,
    wasmMicroBatches: 1,
    cropMultiple: 1,
    loss: (y) => tf.mean(tf.square(y)) as tf.Scalar,
    torchArgs: (crops) => ['--mode', 'backbone', '--backbone', 'resnet-small', '--crops', String(crops)],
    description: 'resnet-small (CIFAR stem), batch 256 of 32x32, fwd+bwd+SGD',
  },
  {
    name: 'simclr-small',
    backbone: 'resnet-small',
    head: [128, 2048, 256],
    headOptions: { hiddenBatchNorm: false },
    crops: 256,
    resolution: 32,
    wasmMicroBatches: 1,
    cropMultiple: 2,
    // Crops are view-major ([views x images]), as the methods lay out their views.
    loss: (z, images) => simclrLoss({ z: tf.reshape(z, [2, images, z.shape[1]!]) }, SIMCLR_PARAMS).loss,
    torchArgs: (crops) => ['--mode', 'simclr', '--backbone', 'resnet-small', '--crops', String(crops)],
    description: 'SimCLR step shape: resnet-small + 2048-256 head + NT-Xent, 128 images x 2 views',
  },
];

/** The case at another batch (`--crops`), or an error naming the valid counts. */
export function withCrops(c: EngineCase, crops: number): EngineCase {
  if (!Number.isInteger(crops) || crops < 1 || crops % c.cropMultiple !== 0) {
    throw new Error(`${c.name}: --crops=${crops} must be a positive multiple of ${c.cropMultiple}`);
  }
  if (crops === c.crops) return c;
  const images = c.cropMultiple > 1 ? `${crops / c.cropMultiple} images x ${c.cropMultiple} crops` : `batch ${crops}`;
  return { ...c, crops, description: `${c.description.split(',')[0]}, ${images} (--crops)` };
}

export interface StepTiming {
  case: string;
  crops_per_step: number;
  micro_batches: number;
  steps: number;
  seconds_per_step: number;
  crops_per_second: number;
  training_flops_per_step: number;
  gflops_per_second: number;
  /** Per-kernel time of one profiled step, largest first (only with profiling on). */
  kernels?: { kernel: string; calls: number; ms: number }[];
}

export interface RunCaseOptions {
  warmup: number;
  steps: number;
  profile: boolean;
  /** Gradient-accumulation chunks per step (must divide the crop count). */
  microBatches: number;
  onStep?: (i: number, seconds: number) => void;
}

export async function runEngineCase(c: EngineCase, options: RunCaseOptions): Promise<StepTiming> {
  const backbone = makeBackbone(c.backbone);
  const modules: Module[] = c.head ? [backbone, mlpHead('projector', c.head, c.headOptions)] : [backbone];
  const state = initModel(modules, 0);
  const optimizer = new Sgd(state.specs, { momentum: 0.9 });
  const chunks = options.microBatches;
  const images = c.crops / c.cropMultiple;
  if (!Number.isInteger(chunks) || chunks < 1 || c.crops % chunks !== 0 || (c.crops / chunks) % images !== 0) {
    const unit = c.cropMultiple > 1 ? ` into whole sets of ${images} images` : '';
    throw new Error(`${c.name}: --micro-batches=${chunks} must divide the ${c.crops} crops of a step${unit}`);
  }
  const perChunk = c.crops / chunks;
  const rng = new Rng(1);
  const inputs = Array.from({ length: chunks }, () =>
    tf.tensor4d(rng.fillNormal(new Float32Array(perChunk * c.resolution * c.resolution * 3)), [perChunk, c.resolution, c.resolution, 3]),
  );
  const lossFn = (ctx: ForwardContext, chunk: number) => {
    let y = inputs[chunk] as tf.Tensor;
    for (const m of modules) y = m.forward(y, ctx);
    return c.loss(y, images);
  };
  const step = async () => {
    const loss = trainStepAccumulated(state, optimizer, 0.01, chunks, lossFn);
    const [v] = await loss.data();
    loss.dispose();
    if (!Number.isFinite(v)) throw new Error(`engine benchmark ${c.name}: loss became ${v}`);
  };

  const times: number[] = [];
  try {
    for (let i = 0; i < options.warmup; i++) await step();
    for (let i = 0; i < options.steps; i++) {
      const t0 = process.hrtime.bigint();
      await step();
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      times.push(seconds);
      options.onStep?.(i, seconds);
    }
    let kernels: StepTiming['kernels'];
    if (options.profile) kernels = await profileStep(step);
    const perStep = median(times);
    const flops = trainingFlops({
      backprop: [{ flopsPerCrop: forwardCost(modules, [c.resolution, c.resolution, 3]).flops, crops: c.crops }],
    });
    return {
      case: c.name,
      crops_per_step: c.crops,
      micro_batches: chunks,
      steps: options.steps,
      seconds_per_step: perStep,
      crops_per_second: c.crops / perStep,
      training_flops_per_step: flops,
      gflops_per_second: flops / perStep / 1e9,
      kernels,
    };
  } finally {
    tf.dispose(inputs);
    optimizer.dispose();
    disposeModel(state);
  }
}

/** Per-kernel wall time of one step (tf.profile), aggregated by kernel name. */
async function profileStep(step: () => Promise<void>): Promise<StepTiming['kernels']> {
  const info = await tf.profile(step);
  const byName = new Map<string, { calls: number; ms: number }>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = byName.get(k.name) ?? { calls: 0, ms: 0 };
    e.calls += 1;
    e.ms += ms;
    byName.set(k.name, e);
  }
  return [...byName.entries()].map(([kernel, e]) => ({ kernel, ...e })).sort((a, b) => b.ms - a.ms);
}
