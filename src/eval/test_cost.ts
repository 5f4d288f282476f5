/**
 * Test-time cost of each evaluation protocol (the reviewers' point: EMP-SSL averages 128 patches per
 * test image): FLOPs per test image, latency of one image at batch 1, and images per second at a large
 * batch, for the single centre view and for bags of K patches. Network time only: crops are made
 * beforehand (random values; the cost does not depend on them), batch norm in eval mode.
 */
import { embedBlock, embeddingModules, type EmbeddingLayer } from './embed.js';
import type { SslModel } from '../model/ssl_model.js';
import { forwardCost } from '../../engine/flops.js';
import * as tf from '../../engine/tf.js';
import type { TestCost } from '../results/rows.js';

async function timeForward(model: SslModel, crops: number, size: number, layer: EmbeddingLayer, repeats: number): Promise<number> {
  const x = tf.randomUniform([crops, size, size, model.backbone.inChannels]) as tf.Tensor4D;
  const times: number[] = [];
  try {
    for (let r = 0; r <= repeats; r++) {
      const t0 = process.hrtime.bigint();
      const y = embedBlock(model, x, layer);
      await y.data();
      y.dispose();
      if (r > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e9); // the first pass is a warm-up
    }
  } finally {
    x.dispose();
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/**
 * Test-time cost depends on the network's shape, not on its weights: one measurement serves every trial of a
 * run whose embedding network and protocols are the same (in the default suite, all methods share resnet-small),
 * which keeps a share of each final evaluation's time off every trial but the first.
 */
export class TestCostCache {
  private readonly measured = new Map<string, TestCost[]>();

  async measure(model: SslModel, layer: EmbeddingLayer, imageSize: number, patchSize: number, bagSizes: number[], throughputCrops: number) {
    // The network's fingerprint: every parameter's shape and the forward FLOPs at both input sizes.
    const modules = embeddingModules(model, layer);
    const params = modules.flatMap((m) => m.params().map((p) => `${p.name}:${p.shape.join('x')}`));
    const flops = [imageSize, patchSize].map((s) => forwardCost(modules, [s, s, model.backbone.inChannels]).flops);
    const key = JSON.stringify({ params, flops, layer, imageSize, patchSize, bagSizes, throughputCrops });
    let costs = this.measured.get(key);
    if (!costs) {
      costs = await measureTestCost(model, layer, imageSize, patchSize, bagSizes, throughputCrops);
      this.measured.set(key, costs);
    }
    return costs.map((c) => ({ ...c }));
  }
}

/** `imageSize`: side of the whole test image (single view); `patchSize`: side of a patch. */
export async function measureTestCost(
  model: SslModel,
  layer: EmbeddingLayer,
  imageSize: number,
  patchSize: number,
  bagSizes: number[],
  throughputCrops: number,
): Promise<TestCost[]> {
  const protocols = [
    { protocol: 'single', patches: 1, size: imageSize },
    ...bagSizes.map((k) => ({ protocol: `bag${k}`, patches: k, size: patchSize })),
  ];
  const out: TestCost[] = [];
  for (const p of protocols) {
    const flopsPerCrop = forwardCost(embeddingModules(model, layer), [p.size, p.size, model.backbone.inChannels]).flops;
    const latency = await timeForward(model, p.patches, p.size, layer, 5);
    const images = Math.max(1, Math.floor(throughputCrops / p.patches));
    const batchSeconds = await timeForward(model, images * p.patches, p.size, layer, 3);
    out.push({
      protocol: p.protocol,
      patches: p.patches,
      flops_per_image: flopsPerCrop * p.patches,
      latency_ms_batch1: latency * 1e3,
      images_per_second: images / batchSeconds,
      throughput_batch_crops: images * p.patches,
    });
  }
  return out;
}
