import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/tf.js';
import { initBackend } from '../src/backends/select.js';
import { LOSSES } from '../methods/losses.js';
import { logdet } from '../src/ops/logdet.js';
import { REFERENCE_DIR, relativeError } from './helpers.js';

interface Tensor {
  shape: number[];
  data: number[];
}
interface Fixture {
  name: string;
  method: string;
  params: Record<string, number>;
  inputs: Record<string, Tensor>;
  expected: { loss: number; terms?: Record<string, number | Tensor>; grad: Record<string, Tensor> };
  tolerance: { loss_rel: number; grad_rel: number };
}

const dir = path.join(REFERENCE_DIR, 'losses');
const fixtures = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe.each(['cpu', 'wasm'] as const)('losses against the PyTorch reference values (%s backend)', (backend) => {
  beforeAll(async () => {
    await initBackend({ backend });
  });

  it('covers every method', () => {
    const methods = new Set(fixtures.map((f) => (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Fixture).method));
    expect([...methods].sort()).toEqual(Object.keys(LOSSES).sort());
  });

  it.each(fixtures)('%s: loss, terms and gradients', (file) => {
    const fx = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Fixture;
    const names = Object.keys(fx.inputs);
    const inputs = names.map((n) => tf.tensor(fx.inputs[n].data, fx.inputs[n].shape));
    const gradNames = Object.keys(fx.expected.grad);
    let terms: Record<string, tf.Tensor> = {};
    const f = (...xs: tf.Tensor[]) => {
      const r = LOSSES[fx.method](Object.fromEntries(names.map((n, i) => [n, xs[i]])), fx.params);
      terms = Object.fromEntries(Object.entries(r.terms).map(([k, v]) => [k, tf.keep(v.clone())]));
      return r.loss;
    };
    const { value, grads } = tf.valueAndGrads(f)(inputs);
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    expect(rel(value.dataSync()[0], fx.expected.loss)).toBeLessThan(fx.tolerance.loss_rel);
    for (const [k, want] of Object.entries(fx.expected.terms ?? {})) {
      const got = terms[k];
      expect(got, `term ${k}`).toBeDefined();
      if (typeof want === 'number') expect(rel(got.dataSync()[0], want), k).toBeLessThan(fx.tolerance.loss_rel);
      else expect(relativeError(got.dataSync(), want.data), k).toBeLessThan(fx.tolerance.loss_rel);
    }
    for (const g of gradNames) {
      const got = grads[names.indexOf(g)];
      expect(got.shape).toEqual(fx.expected.grad[g].shape);
      expect(relativeError(got.dataSync(), fx.expected.grad[g].data), `grad ${g}`).toBeLessThan(fx.tolerance.grad_rel);
    }
  });
});

describe('logdet', () => {
  it('matches a closed form and its gradient is the inverse', async () => {
    await initBackend({ backend: 'cpu' });
    const a = tf.tensor3d([[[4, 1], [1, 3]], [[2, 0], [0, 5]]]);
    const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => tf.sum(logdet(x)))([a]);
    expect(value.dataSync()[0]).toBeCloseTo(Math.log(11) + Math.log(10), 5);
    const g = grads[0].arraySync() as number[][][];
    expect(g[0][0][0]).toBeCloseTo(3 / 11, 6);
    expect(g[0][0][1]).toBeCloseTo(-1 / 11, 6);
    expect(g[1][1][1]).toBeCloseTo(1 / 5, 6);
    expect(() => logdet(tf.tensor2d([[1, 2], [2, 1]]))).toThrow(/not positive definite/);
  });
});
