import { describe, expect, it } from 'vitest';
import {
  BudgetError,
  parseAmount,
  parseBudget,
  progress,
  reached,
  takeAnotherStep,
  ZERO_COUNTERS,
  type Budget,
  type Counters,
} from '../src/runner/budget.js';
import { warmupCosine } from '../engine/optim/schedule.js';
import { getMethod } from '../methods/registry.js';
import { SslModel } from '../src/model/ssl_model.js';
import { initBackend } from '../engine/backends/select.js';

describe('budget amounts', () => {
  it('parse with units', () => {
    expect(parseAmount('time', '90s')).toBe(90);
    expect(parseAmount('time', '90')).toBe(90);
    expect(parseAmount('time', '10m')).toBe(600);
    expect(parseAmount('time', '1.5h')).toBe(5400);
    expect(parseAmount('flops', '3e15')).toBe(3e15);
    expect(parseAmount('flops', '40T')).toBe(40e12);
    expect(parseAmount('flops', '2.5P')).toBe(2.5e15);
    expect(parseAmount('patches', '2e6')).toBe(2e6);
    expect(parseAmount('patches', '500k')).toBe(5e5);
    expect(parseAmount('epochs', '0.25')).toBe(0.25);
    expect(parseAmount('steps', '5k')).toBe(5000);
    expect(parseBudget('time:2h')).toEqual({ kind: 'time', amount: 7200 });
    expect(parseBudget('flops')).toEqual({ kind: 'flops' });
  });

  it('reject malformed amounts with examples of valid ones', () => {
    expect(() => parseAmount('time', 'abc')).toThrow(/malformed time budget "abc": .*90s, 10m, 1.5h/);
    expect(() => parseAmount('time', '5parsecs')).toThrow(BudgetError);
    expect(() => parseAmount('flops', '-3e15')).toThrow(/malformed flops budget/);
    expect(() => parseAmount('flops', '0')).toThrow(/positive amount/);
    expect(() => parseAmount('epochs', '1k')).toThrow(/malformed epochs budget/);
    expect(() => parseAmount('steps', '1.5')).toThrow(/whole number/);
    expect(() => parseBudget('hours:3')).toThrow(/unknown budget kind "hours"; valid: time, flops, patches, epochs, steps/);
    expect(() => parseBudget('time:1:2')).toThrow(/KIND or KIND:AMOUNT/);
  });
});

describe('budget arithmetic', () => {
  const at = (c: Partial<Counters>): Counters => ({ ...ZERO_COUNTERS, ...c });

  it('progress is spent / amount in the budget unit, capped at 1', () => {
    expect(progress(at({ seconds: 15 }), { kind: 'time', amount: 60 })).toBe(0.25);
    expect(progress(at({ crops: 3000 }), { kind: 'patches', amount: 1000 })).toBe(1);
    expect(progress(at({ epochs: 0.5, seconds: 99 }), { kind: 'epochs', amount: 2 })).toBe(0.25);
  });

  /** Steps of a fixed cost until the rule stops; returns what was spent. */
  function simulate(budget: Budget, cost: number): number {
    const c = at({});
    while (takeAnotherStep(c, budget, cost)) {
      c.steps += 1;
      c.seconds += cost;
    }
    return c.seconds;
  }

  it('a trial stops at the step boundary nearest its budget (never more than half a step off)', () => {
    for (const cost of [0.3, 0.7, 1, 2.9, 7]) {
      const got = simulate({ kind: 'time', amount: 60 }, cost);
      expect(Math.abs(got - 60)).toBeLessThanOrEqual(cost / 2 + 1e-9);
    }
    // The first step is always taken, even when it alone exceeds the budget.
    expect(simulate({ kind: 'time', amount: 1 }, 5)).toBe(5);
  });

  it('evaluation points are reached at the nearest step too', () => {
    const b: Budget = { kind: 'steps', amount: 10 };
    expect(reached(at({ steps: 2 }), b, 0.3, 1)).toBe(false); // 2 + 0.5 < 3
    expect(reached(at({ steps: 3 }), b, 0.3, 1)).toBe(true);
    expect(reached(at({}), b, 0, 1)).toBe(true); // fraction 0: before training
  });

  it('the learning rate follows progress through the budget, whatever the budget kind', async () => {
    await initBackend({ backend: 'cpu' });
    const model = new SslModel(
      { ...getMethod('simclr'), optimizer: { ...getMethod('simclr').optimizer, lr: 0.4, warmup: 0.1 } },
      'resnet-small',
      0,
    );
    try {
      expect(model.learningRate(0)).toBeCloseTo(warmupCosine(0, { base: 0.4, warmup: 0.1 }), 12);
      expect(model.learningRate(0.1)).toBeCloseTo(0.4, 6); // warm-up ends at 10 % of the budget
      expect(model.learningRate(0.55)).toBeCloseTo(0.2, 6); // half-way through the cosine
      expect(model.learningRate(1)).toBeCloseTo(0, 6); // decayed to zero exactly when the budget is spent
    } finally {
      model.dispose();
    }
  });

  it('a warm-up step floor ramps the first steps whatever progress says', async () => {
    await initBackend({ backend: 'cpu' });
    const simclr = getMethod('simclr');
    const floored = new SslModel(
      { ...simclr, optimizer: { ...simclr.optimizer, lr: 0.4, warmup: 0.1, warmupSteps: 8 } },
      'resnet-small',
      0,
    );
    try {
      // Step 1 of 8 at 50 % of the budget (a slow first step spent it): 1/8 of the scheduled rate.
      expect(floored.learningRate(0.5)).toBeCloseTo(warmupCosine(0.5, { base: 0.4, warmup: 0.1 }) / 8, 12);
      // The floor counts steps taken: restored from a checkpoint at step 4, the next is step 5 of 8.
      const { tensors, counters } = floored.checkpointState();
      floored.restoreCheckpoint(tensors, { ...counters, model_steps: 4 });
      expect(floored.learningRate(0.5)).toBeCloseTo(warmupCosine(0.5, { base: 0.4, warmup: 0.1 }) * (5 / 8), 12);
      floored.restoreCheckpoint(tensors, { ...counters, model_steps: 20 });
      expect(floored.learningRate(0.5)).toBeCloseTo(warmupCosine(0.5, { base: 0.4, warmup: 0.1 }), 12);
    } finally {
      floored.dispose();
    }
  });
});
