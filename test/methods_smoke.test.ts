import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { augmentBatch } from '../datasets/augment/pipeline.js';
import { loadSynthetic } from '../datasets/synthetic.js';
import type { Dataset } from '../datasets/types.js';
import type { MethodConfig } from '../methods/method.js';
import { getMethod, METHODS } from '../methods/registry.js';
import { SslModel } from '../src/model/ssl_model.js';
import { initBackend } from '../engine/backends/select.js';
import { readTree } from '../engine/nn/params.js';
import { Rng } from '../engine/random.js';
import type * as tf from '../engine/tf.js';
import { greyViews, smallHeads } from './helpers.js';

/**
 * Every method through the one training path: small backbone, small heads (same code, smaller sizes),
 * a few steps on the synthetic set.
 */
let data: Dataset;
beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  data = loadSynthetic({ root: path.join(os.tmpdir(), 'ssl-budget-bench-tests'), seed: 0, train: 40, test: 10 });
});

async function train(raw: MethodConfig, steps: number, onStep?: (model: SslModel) => Promise<void>) {
  const method = greyViews(raw);
  const model = new SslModel(method, 'resnet-small-cifar', 1, { inChannels: 1, classes: data.classes.length });
  const rng = new Rng(2);
  const images = 4;
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const indices = [4 * s, 4 * s + 1, 4 * s + 2, 4 * s + 3];
    const batch = augmentBatch(data.train.readImages(indices), images, 32, 32, method.recipe, rng);
    losses.push(
      await model.step(
        batch,
        images,
        s / steps,
        Int32Array.from(indices, (i) => data.train.labels[i]),
      ),
    );
    await onStep?.(model);
  }
  return { model, losses };
}

/** A momentum target's parameters, as the model checkpoints the method's state. */
function targetParams(model: SslModel): Record<string, tf.Tensor> {
  const prefix = 'method/params/';
  const { tensors } = model.checkpointState();
  return Object.fromEntries(
    Object.entries(tensors)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => [k.slice(prefix.length), v]),
  );
}

describe('methods train through one code path', () => {
  const trained = Object.keys(METHODS).filter((m) => getMethod(m).role !== 'floor');
  it.each(trained)('%s: finite loss that moves', async (name) => {
    const views = name.startsWith('emp-ssl') ? 4 : undefined; // 4 patches keep the test small
    const { model, losses } = await train(smallHeads(getMethod(name, views)), 3);
    for (const l of losses) expect(Number.isFinite(l), `${name} losses ${losses}`).toBe(true);
    expect(new Set(losses).size).toBeGreaterThan(1);
    model.dispose();
  });

  it("BYOL's target moves by EMA of the online network only", async () => {
    const method = smallHeads(getMethod('byol'));
    let before: Record<string, Float32Array> = {};
    const checks: number[] = [];
    await train(method, 2, async (model) => {
      const target = await readTree(targetParams(model));
      const online = await readTree(model.state.params);
      if (Object.keys(before).length > 0) {
        const tau = 0.99 + (1 - 0.99) * 0.5 * (1 - Math.cos(Math.PI * 0.5)); // cosine ramp at progress 0.5
        const name = 'layer1.0.conv1.weight';
        const want = before[name].map((t, i) => tau * t + (1 - tau) * online[name][i]);
        checks.push(Math.max(...target[name].map((t, i) => Math.abs(t - want[i]))));
      }
      before = target;
    }).then(({ model }) => model.dispose());
    expect(checks).toHaveLength(1);
    expect(checks[0]).toBeLessThan(1e-6);
  });

  it("SwAV's prototypes stay on the unit sphere", async () => {
    const { model } = await train(smallHeads(getMethod('swav')), 2);
    const w = (await readTree(model.state.params))['prototypes.weight'];
    for (let k = 0; k < 20; k++) {
      const row = w.subarray(k * 32, (k + 1) * 32);
      expect(Math.sqrt(row.reduce((s, x) => s + x * x, 0))).toBeCloseTo(1, 5);
    }
    model.dispose();
  });

  it('SwAV: prototypes frozen at first, the queue filled newest first, passed to the loss from its start, checkpointed', async () => {
    const base = smallHeads(getMethod('swav'));
    const seen: (number[] | null)[] = [];
    const method = greyViews({
      ...base,
      params: { ...base.params, freezePrototypes: 0.25, queueSize: 6, queueStart: 0.5 },
      loss: (out, params) => {
        seen.push(out.queue ? out.queue.shape : null);
        return base.loss(out, params);
      },
    });
    const model = new SslModel(method, 'resnet-small-cifar', 1, { inChannels: 1 });
    const rng = new Rng(2);
    const step = (s: number, progress: number) =>
      model.step(augmentBatch(data.train.readImages([4 * s, 4 * s + 1, 4 * s + 2, 4 * s + 3]), 4, 32, 32, method.recipe, rng), 4, progress);
    const prototypes = async () => (await readTree(model.state.params))['prototypes.weight'];
    const queueRows = async () => {
      const { tensors, counters } = model.checkpointState();
      return { rows: (await tensors['method/queue'].array()) as number[][][], filled: counters['method/queue_filled'] };
    };
    const norm = (row: number[]) => Math.sqrt(row.reduce((a, x) => a + x * x, 0));
    try {
      const p0 = await prototypes();
      const moved = async () => {
        const p = await prototypes();
        return Math.max(...p.map((x, i) => Math.abs(x - p0[i])));
      };
      await step(0, 0); // progress 0 < 0.25: frozen (renormalised only, a rounding change)
      expect(await moved()).toBeLessThan(1e-6);
      const q1 = await queueRows();
      expect(q1.filled).toBe(4);
      expect(q1.rows[0].map(norm).map((x) => Math.round(x * 1e4) / 1e4)).toEqual([1, 1, 1, 1, 0, 0]);
      await step(1, 0.3);
      expect(await moved()).toBeGreaterThan(1e-4);
      const q2 = await queueRows();
      expect(q2.filled).toBe(6); // capped at the queue size
      expect(q2.rows[1].slice(4)).toEqual(q1.rows[1].slice(0, 2)); // last step's newest rows moved back
      await step(2, 0.5);
      expect(seen).toEqual([null, null, [2, 6, 32]]);
      // A model restored from the checkpoint holds the same queue.
      const ck = model.checkpointState();
      const restored = new SslModel(method, 'resnet-small-cifar', 1, { inChannels: 1 });
      restored.restoreCheckpoint(ck.tensors, ck.counters);
      const back = restored.checkpointState();
      expect(back.counters['method/queue_filled']).toBe(6);
      expect(await back.tensors['method/queue'].array()).toEqual(await ck.tensors['method/queue'].array());
      restored.dispose();
    } finally {
      model.dispose();
    }
  });

  it("MoCo v2+: the queue starts full of unit keys, takes each step's target keys newest first, and is checkpointed", async () => {
    const base = smallHeads(getMethod('mocov2plus'));
    const seen: number[][] = [];
    const method = greyViews({
      ...base,
      params: { ...base.params, queueSize: 8 },
      loss: (out, params) => {
        seen.push(out.queue!.shape);
        return base.loss(out, params);
      },
    });
    const model = new SslModel(method, 'resnet-small-cifar', 1, { inChannels: 1 });
    const norm = (row: number[]) => Math.round(Math.sqrt(row.reduce((a, x) => a + x * x, 0)) * 1e4) / 1e4;
    const queue = async (m: SslModel) => (await m.checkpointState().tensors['method/queue'].array()) as number[][][];
    try {
      const q0 = await queue(model);
      expect(q0[0].map(norm)).toEqual(Array(8).fill(1));
      const batch = augmentBatch(data.train.readImages([0, 1, 2, 3]), 4, 32, 32, method.recipe, new Rng(2));
      await model.step(batch, 4, 0);
      expect(seen).toEqual([[2, 8, 32]]);
      const q1 = await queue(model);
      expect(q1[1].slice(4)).toEqual(q0[1].slice(0, 4)); // the oldest four fell off the end
      expect(q1[1].slice(0, 4).map(norm)).toEqual([1, 1, 1, 1]);
      expect(q1[1][0]).not.toEqual(q0[1][0]);
      const restored = new SslModel(method, 'resnet-small-cifar', 1, { inChannels: 1 });
      const ck = model.checkpointState();
      restored.restoreCheckpoint(ck.tensors, ck.counters);
      expect(await queue(restored)).toEqual(q1);
      restored.dispose();
    } finally {
      model.dispose();
    }
  });

  it('views is a setting: SimCLR with 6 views', () => {
    expect(getMethod('simclr', 6).recipe.views[0].count).toBe(6);
    expect(() => getMethod('simclr', 1)).toThrow(/views must be an integer >= 2/);
    expect(() => getMethod('moco')).toThrow(
      /valid: emp-ssl, emp-ssl-infonce, simclr, byol, vicreg, barlow-twins, swav, mocov2plus, random-init, supervised/,
    );
  });

  it('the references: random-init is the floor and never trains; supervised is the ceiling and learns the labels', async () => {
    expect(getMethod('random-init').role).toBe('floor');
    expect(() => getMethod('random-init').loss({ z: null as never, weights: {} }, {})).toThrow(/never trained/);
    expect(getMethod('supervised').role).toBe('ceiling');
    // Its classifier has one output per class, and its loss starts near log(classes) (chance).
    const { model, losses } = await train(smallHeads(getMethod('supervised')), 2);
    expect(model.projector.trace([model.backbone.featureDim], [])).toEqual([10]);
    expect(Math.abs(losses[0] - Math.log(10))).toBeLessThan(1);
    model.dispose();
  });
});
