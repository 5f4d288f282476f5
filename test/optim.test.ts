import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../engine/tf.js';
import { initBackend } from '../engine/backends/select.js';
import type { ParamSpec } from '../engine/nn/module.js';
import type { ParamTree } from '../engine/nn/params.js';
import { AdamW } from '../engine/optim/adamw.js';
import { Lars } from '../engine/optim/lars.js';
import type { Optimizer } from '../engine/optim/optimizer.js';
import { Sgd } from '../engine/optim/sgd.js';
import { cosineRamp, warmupCosine } from '../engine/optim/schedule.js';
import { backendsUnderTest } from './helpers.js';

/**
 * Each optimizer against a plain float64 transcription of PyTorch's (or solo-learn's) update rule,
 * over three steps with changing gradients and learning rates.
 */
const W0 = [0.5, -1.0, 2.0, 0.25];
const B0 = [0.1, -0.2];
const specs: Record<string, ParamSpec> = {
  w: { name: 'w', shape: [4], group: 'weight', init: { kind: 'constant', value: 0 } },
  b: { name: 'b', shape: [2], group: 'bias', init: { kind: 'constant', value: 0 } },
};
const gradsAt = (t: number) => ({ w: W0.map((_, i) => Math.sin(t + i) * 0.3), b: B0.map((_, i) => Math.cos(t * 2 + i) * 0.1) });
const lrs = [0.1, 0.05, 0.2];

type Rule = (name: 'w' | 'b', p: number[], g: number[], lr: number, state: Record<string, number[]>, t: number) => number[];

function reference(rule: Rule): { w: number[]; b: number[] } {
  const params = { w: [...W0], b: [...B0] };
  const state: Record<string, number[]> = {};
  lrs.forEach((lr, t) => {
    const g = gradsAt(t);
    for (const name of ['w', 'b'] as const) params[name] = rule(name, params[name], g[name], lr, state, t + 1);
  });
  return params;
}

async function run(make: () => Optimizer): Promise<{ w: number[]; b: number[] }> {
  const params: ParamTree = { w: tf.variable(tf.tensor1d(W0)), b: tf.variable(tf.tensor1d(B0)) };
  const opt = make();
  lrs.forEach((lr, t) => {
    const g = gradsAt(t);
    const grads = { w: tf.tensor1d(g.w), b: tf.tensor1d(g.b) };
    opt.step(params, grads, lr);
    tf.dispose(grads);
  });
  const out = { w: Array.from(await params.w.data()), b: Array.from(await params.b.data()) };
  opt.dispose();
  tf.dispose(Object.values(params));
  return out;
}

const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

function momentumRule(mu: number, nesterov: boolean, decayOf: (name: 'w' | 'b') => number): Rule {
  return (name, p, g, lr, state) => {
    const wd = decayOf(name);
    const d = g.map((gi, i) => gi + wd * p[i]);
    const buf = (state[name] ??= p.map(() => 0));
    for (let i = 0; i < buf.length; i++) buf[i] = mu * buf[i] + d[i];
    const step = nesterov ? d.map((di, i) => di + mu * buf[i]) : buf;
    return p.map((pi, i) => pi - lr * step[i]);
  };
}

function expectClose(got: { w: number[]; b: number[] }, want: { w: number[]; b: number[] }) {
  for (const k of ['w', 'b'] as const) got[k].forEach((v, i) => expect(v).toBeCloseTo(want[k][i], 5));
}

describe.each(await backendsUnderTest('cpu'))('optimizers (%s backend)', (backend) => {
  beforeAll(async () => {
    await initBackend({ backend });
  });

  it('SGD with momentum and weight decay matches torch.optim.SGD', async () => {
    expectClose(await run(() => new Sgd(specs, { momentum: 0.9, weightDecay: 0.01 })), reference(momentumRule(0.9, false, () => 0.01)));
  });

  it('SGD Nesterov, biases excluded from decay', async () => {
    const got = await run(() => new Sgd(specs, { momentum: 0.9, nesterov: true, weightDecay: 0.05, excludeBiasAndNormFromDecay: true }));
    expectClose(got, reference(momentumRule(0.9, true, (n) => (n === 'w' ? 0.05 : 0))));
  });

  it('plain SGD is p - lr g', async () => {
    expectClose(
      await run(() => new Sgd(specs)),
      reference((_, p, g, lr) => p.map((pi, i) => pi - lr * g[i])),
    );
  });

  for (const clip of [false, true]) {
    it(`LARS (clip=${clip}) matches solo-learn's rule, biases take plain momentum steps`, async () => {
      const eta = 0.02;
      const wd = 1e-4;
      const sgd = momentumRule(0.9, false, () => 0);
      const rule: Rule = (name, p, g, lr, state, t) => {
        let d = g;
        if (name === 'w') {
          const pn = norm(p);
          const gn = norm(g);
          let r = (eta * pn) / (gn + wd * pn + 1e-8);
          if (clip) r = Math.min(r / lr, 1);
          d = g.map((gi, i) => (gi + wd * p[i]) * r);
        }
        return sgd(name, p, d, lr, state, t);
      };
      expectClose(await run(() => new Lars(specs, { momentum: 0.9, weightDecay: wd, eta, clip })), reference(rule));
    });
  }

  it('LARS leaves the trust ratio at 1 for a zero parameter', async () => {
    const params: ParamTree = { w: tf.variable(tf.zeros([4])), b: tf.variable(tf.zeros([2])) };
    const opt = new Lars(specs, { momentum: 0, weightDecay: 0.1 });
    opt.step(params, { w: tf.ones([4]), b: tf.ones([2]) }, 0.5);
    expect(Array.from(await params.w.data())).toEqual([-0.5, -0.5, -0.5, -0.5]);
  });

  it('stepScales multiply the steps of one module only (LARS and SGD)', async () => {
    const named: Record<string, ParamSpec> = {
      'predictor.0.weight': { ...specs.w, name: 'predictor.0.weight' },
      'backbone.conv1.weight': { ...specs.w, name: 'backbone.conv1.weight' },
    };
    const moves = async (make: () => Optimizer) => {
      const params: ParamTree = Object.fromEntries(Object.keys(named).map((n) => [n, tf.variable(tf.tensor1d(W0))]));
      const opt = make();
      // One step: after it the scaled module's weights differ, and so would LARS's next trust ratio.
      const grads = Object.fromEntries(Object.keys(named).map((n) => [n, tf.tensor1d(gradsAt(0).w)]));
      opt.step(params, grads, 0.1);
      tf.dispose(Object.values(grads));
      const out: Record<string, number[]> = {};
      for (const [n, p] of Object.entries(params)) out[n] = Array.from(await p.data()).map((v, i) => v - W0[i]);
      opt.dispose();
      tf.dispose(Object.values(params));
      return out;
    };
    for (const make of [
      (stepScales?: Record<string, number>) => new Lars(named, { momentum: 0.9, eta: 0.02, clip: true, weightDecay: 1e-4, stepScales }),
      (stepScales?: Record<string, number>) => new Sgd(named, { momentum: 0.9, stepScales }),
    ]) {
      const plain = await moves(() => make());
      const scaled = await moves(() => make({ predictor: 10 }));
      scaled['predictor.0.weight'].forEach((d, i) => expect(d).toBeCloseTo(10 * plain['predictor.0.weight'][i], 6));
      scaled['backbone.conv1.weight'].forEach((d, i) => expect(d).toBeCloseTo(plain['backbone.conv1.weight'][i], 7));
      expect(norm(plain['predictor.0.weight'])).toBeGreaterThan(1e-3);
    }
  });

  it('AdamW matches torch.optim.AdamW', async () => {
    const [b1, b2, eps, wd] = [0.9, 0.999, 1e-8, 0.01];
    const rule: Rule = (name, p, g, lr, state, t) => {
      const m = (state[`${name}m`] ??= p.map(() => 0));
      const v = (state[`${name}v`] ??= p.map(() => 0));
      return p.map((pi, i) => {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        const mh = m[i] / (1 - b1 ** t);
        const vh = v[i] / (1 - b2 ** t);
        return pi * (1 - lr * wd) - (lr * mh) / (Math.sqrt(vh) + eps);
      });
    };
    expectClose(await run(() => new AdamW(specs, { weightDecay: wd })), reference(rule));
  });
});

describe('schedules over progress', () => {
  it('warm-up then cosine', () => {
    const s = { base: 1, warmup: 0.1, final: 0.01 };
    expect(warmupCosine(0, s)).toBe(0);
    expect(warmupCosine(0.05, s)).toBeCloseTo(0.5, 12);
    expect(warmupCosine(0.1, s)).toBeCloseTo(1, 12);
    expect(warmupCosine(0.55, s)).toBeCloseTo(0.01 + 0.99 * 0.5, 12);
    expect(warmupCosine(1, s)).toBeCloseTo(0.01, 12);
    expect(warmupCosine(2, s)).toBeCloseTo(0.01, 12); // clamped past the budget
  });

  it('cosine with no warm-up starts at base', () => {
    expect(warmupCosine(0, { base: 0.3 })).toBeCloseTo(0.3, 12);
    expect(warmupCosine(0.5, { base: 0.3 })).toBeCloseTo(0.15, 12);
  });

  it('cosine ramp for EMA momentum 0.99 -> 1', () => {
    expect(cosineRamp(0, 0.99, 1)).toBeCloseTo(0.99, 12);
    expect(cosineRamp(0.5, 0.99, 1)).toBeCloseTo(0.995, 12);
    expect(cosineRamp(1, 0.99, 1)).toBeCloseTo(1, 12);
  });

  it('rejects bad input', () => {
    expect(() => warmupCosine(Number.NaN, { base: 1 })).toThrow(/progress/);
    expect(() => warmupCosine(0.5, { base: 1, warmup: 1 })).toThrow(/warm-up/);
  });
});
