/**
 * The nightly micro-benchmarks (tinybench, raw latency samples kept): one training step of each method at
 * its default views on the small backbone, the augmentation pipeline, kNN and linear-probe evaluation,
 * and the log-determinant op with its gradient. Milliseconds per call; lower is better.
 */
import { Bench } from 'tinybench';
import { augmentBatch } from '../../datasets/augment/pipeline.js';
import { empSslPatches } from '../../datasets/augment/recipes.js';
import { getMethod } from '../../methods/registry.js';
import { SslModel } from '../model/ssl_model.js';
import { knnAccuracy } from '../eval/knn.js';
import { linearProbe } from '../eval/linear_probe.js';
import { logdet } from '../../engine/ops/logdet.js';
import { Rng } from '../../engine/random.js';
import * as tf from '../../engine/tf.js';
import { cyclicLabels, randomCifarImages } from './inputs.js';

export interface MicroResult {
  name: string;
  samples: number[];
}

export interface MicroOptions {
  methods: string[];
  /** Images per training step. */
  images: number;
  /** tinybench measuring time per task, ms. */
  timeMs: number;
  log: (line: string) => void;
}

/**
 * Slowdowns injected on purpose, for measuring the nightly detector (never set in production use):
 * SSL_BENCH_INJECT_SLOWDOWN="step/simclr=0.2,eval/knn-2000x500x128=0.5" makes each named benchmark busy-wait
 * for that fraction of each call's own time after the call, so it runs 20 % (50 %) slower with real noise.
 */
export const INJECT_ENV = 'SSL_BENCH_INJECT_SLOWDOWN';

export function parseInjected(spec: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of (spec ?? '').split(',').filter((p) => p.trim())) {
    const [name, value] = part.split('=');
    const f = Number(value);
    if (!name?.trim() || !(f > 0)) throw new Error(`${INJECT_ENV}: expected name=fraction (a fraction > 0), got "${part}"`);
    out.set(name.trim(), f);
  }
  return out;
}

/** `fn`, made `fraction` slower by spinning after each call. */
function slowed(fn: () => unknown, fraction: number): () => Promise<void> {
  return async () => {
    const start = performance.now();
    await fn();
    const until = start + (performance.now() - start) * (1 + fraction);
    while (performance.now() < until) {
      // spin: a slowdown that uses the CPU, as slower code would
    }
  };
}

function randomFeatures(rng: Rng, count: number, dim: number) {
  return { data: rng.fillNormal(new Float32Array(count * dim)), count, dim };
}

/** The benchmarks, built once, each run on demand (the same-night A/B alternates them between two processes). */
export interface MicroBenchmarks {
  names: string[];
  /** Measures one benchmark for about `timeMs` (tinybench; at least `minSamples`): ms per call. */
  run(name: string, timeMs: number, minSamples?: number): Promise<number[]>;
  dispose(): void;
}

/** Builds the benchmarks (models, inputs) for `methods`; skips none: an unknown method throws. */
export function buildMicroBenchmarks(o: Pick<MicroOptions, 'methods' | 'images'>): MicroBenchmarks {
  const rng = new Rng(0);
  const images = randomCifarImages(o.images, rng.fork('images'));
  const injected = parseInjected(process.env[INJECT_ENV]);
  const tasks = new Map<string, () => unknown>();
  const add = (name: string, fn: () => unknown) => {
    const f = injected.get(name);
    tasks.set(name, f ? slowed(fn, f) : fn);
  };
  const models: SslModel[] = [];
  for (const name of o.methods) {
    const method = getMethod(name);
    const model = new SslModel(method, 'resnet-small', 0, { classes: 10 });
    models.push(model);
    const batch = augmentBatch(images, o.images, 32, 32, method.recipe, rng.fork(name));
    const labels = cyclicLabels(o.images);
    add(`step/${name}`, async () => {
      await model.step(batch, o.images, 0.5, labels);
    });
  }
  const emp = empSslPatches(20);
  add('augment/emp-ssl-20-patches-x10', () => {
    augmentBatch(images.subarray(0, 10 * 3072), 10, 32, 32, emp, rng);
  });
  const bank = randomFeatures(rng, 2000, 128);
  const query = randomFeatures(rng, 500, 128);
  const labels = (n: number) => Int32Array.from({ length: n }, (_, i) => i % 10);
  add('eval/knn-2000x500x128', async () => {
    await knnAccuracy(bank, labels(2000), query, labels(500), [20, 200], 0.07, 10);
  });
  add('eval/linear-probe-2000x128-50it', async () => {
    await linearProbe({ x: bank, y: labels(2000) }, { x: query, y: labels(500) }, [{ x: query, y: labels(500) }], 10, {
      iterations: 50,
      lr: 0.01,
      weightDecays: [0, 1e-4],
    });
  });
  const z = tf.randomNormal([20, 64, 32], 0, 1, 'float32', 1);
  const spd = tf.tidy(() => tf.add(tf.matMul(z, z, false, true), tf.mul(tf.eye(64), 0.1)));
  add('op/logdet-20x64x64-with-grad', async () => {
    const g = tf.grad((a: tf.Tensor) => tf.sum(logdet(a)))(spd);
    await g.data();
    g.dispose();
  });
  const unknown = [...injected.keys()].filter((n) => !tasks.has(n));
  if (unknown.length) throw new Error(`${INJECT_ENV} names no benchmark here: ${unknown.join(', ')}`);
  const warm = new Set<string>();
  return {
    names: [...tasks.keys()],
    async run(name, timeMs, minSamples = 3) {
      const fn = tasks.get(name);
      if (!fn) throw new Error(`no micro-benchmark "${name}"; there are ${[...tasks.keys()].join(', ')}`);
      // One warm-up call the first time a benchmark runs in this process; later slices are warm already.
      const bench = new Bench({ time: timeMs, warmupIterations: warm.has(name) ? 0 : 1, iterations: minSamples, retainSamples: true });
      warm.add(name);
      bench.add(name, fn);
      await bench.run();
      const r = bench.tasks[0].result;
      if (r.state !== 'completed' || !r.latency.samples) throw new Error(`micro-benchmark ${name} did not complete (${r.state})`);
      return [...r.latency.samples];
    },
    dispose() {
      for (const m of models) m.dispose();
      tf.dispose([z, spd]);
    },
  };
}

/** Every benchmark once, in order, for `timeMs` each. */
export async function runMicroBenchmarks(o: MicroOptions): Promise<MicroResult[]> {
  const set = buildMicroBenchmarks(o);
  try {
    const out: MicroResult[] = [];
    for (const name of set.names) {
      out.push({ name, samples: await set.run(name, o.timeMs) });
      o.log(`  measured ${name}`);
    }
    return out;
  } finally {
    set.dispose();
  }
}
