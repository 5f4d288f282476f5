import { describe, expect, it } from 'vitest';
import { judgeTonight, mannWhitneyGreater, scaledMad, type Night } from '../reports/regression.js';
import { Rng } from '../engine/random.js';

const rng = new Rng(42);
/** One night's samples of a step time around `centre` ms: `noise` per sample, and a nightly shift of a third of it. */
function night(i: number, centre: number, noise = 0.03, samples = 30): Night {
  const shift = 1 + rng.normal() * noise * 0.3;
  return {
    file: `n${i}`,
    date: `2026-11-${String(i + 1).padStart(2, '0')}`,
    commit: null,
    measurements: {
      step: { unit: 'ms', better: 'lower', samples: Array.from({ length: samples }, () => centre * shift * (1 + rng.normal() * noise)) },
    },
  };
}

describe('Mann-Whitney U', () => {
  it('gives small p for a clear shift and large p for none', () => {
    const a = Array.from({ length: 20 }, (_, i) => 10 + i);
    const b = Array.from({ length: 20 }, (_, i) => i);
    expect(mannWhitneyGreater(a, b)).toBeLessThan(0.01);
    expect(mannWhitneyGreater(b, a)).toBeGreaterThan(0.99);
    expect(mannWhitneyGreater(a, a)).toBeGreaterThan(0.4);
    expect(scaledMad([1, 2, 3, 4, 100])).toBeCloseTo(1.4826, 4);
  });
});

describe('nightly regression detector', () => {
  it('flags an injected 20 % slowdown, and confirms it when the next night agrees', () => {
    const nights = Array.from({ length: 10 }, (_, i) => night(i, 100));
    const slow = [...nights, night(10, 120)];
    const [j] = judgeTonight(slow);
    expect(j.direction).toBe('regression');
    expect(j.change).toBeGreaterThan(0.15);
    expect(j.confirmed).toBe(false); // one night is not yet a confirmation
    const [next] = judgeTonight([...slow, night(11, 120)]);
    expect(next.flagged).toBe(true);
    expect(next.confirmed).toBe(true);
  });

  it('does not cry wolf: the same code night after night on a noisy machine is never flagged', () => {
    const nights = Array.from({ length: 40 }, (_, i) => night(i, 100, 0.05));
    for (let t = 3; t <= nights.length; t++) {
      const [j] = judgeTonight(nights.slice(0, t));
      expect(j.flagged, `night ${t}: change ${j.change}`).toBe(false);
      expect(j.confirmed).toBe(false);
    }
  });

  it('flags a single-night spike without confirming it, and the night after is clean', () => {
    const nights = Array.from({ length: 8 }, (_, i) => night(i, 100));
    const spike = [...nights, night(8, 130)];
    const [j] = judgeTonight(spike);
    expect(j.flagged).toBe(true);
    expect(j.confirmed).toBe(false);
    const [after] = judgeTonight([...spike, night(9, 100)]);
    expect(after.flagged).toBe(false);
    expect(after.confirmed).toBe(false);
  });

  it('treats a higher-is-better measurement the other way round', () => {
    const acc = (i: number, v: number): Night => ({
      file: `a${i}`,
      date: '',
      commit: null,
      measurements: { acc: { unit: 'accuracy', better: 'higher', samples: [v - 0.005, v + 0.005] } },
    });
    const base = [0.6, 0.61, 0.59, 0.6, 0.605].map((v, i) => acc(i, v));
    expect(judgeTonight([...base, acc(5, 0.45)])[0].direction).toBe('regression');
    expect(judgeTonight([...base, acc(5, 0.75)])[0].direction).toBe('improvement');
  });

  it('has no baseline on a first night (a new machine fingerprint starts its own history)', () => {
    const [j] = judgeTonight([night(0, 100)]);
    expect(j.baselineNights).toBe(0);
    expect(j.flagged).toBe(false);
  });
});
