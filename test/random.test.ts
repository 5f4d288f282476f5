import { describe, expect, it } from 'vitest';
import { Rng } from '../engine/random.js';

describe('seeded random numbers', () => {
  it('same seed, same stream; other seed or label, other stream', () => {
    const a = new Rng(42).fillNormal(new Float32Array(100));
    const b = new Rng(42).fillNormal(new Float32Array(100));
    const c = new Rng(43).fillNormal(new Float32Array(100));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Rng(1).fork('x').uniform()).toBe(new Rng(1).fork('x').uniform());
    expect(new Rng(1).fork('x').uniform()).not.toBe(new Rng(1).fork('y').uniform());
  });

  it('has the right moments', () => {
    const n = 200_000;
    const r = new Rng(7);
    let s = 0;
    let s2 = 0;
    let u = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      s += x;
      s2 += x * x;
      u += r.uniform();
    }
    expect(Math.abs(s / n)).toBeLessThan(0.01);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.02);
    expect(Math.abs(u / n - 0.5)).toBeLessThan(0.005);
    for (let i = 0; i < 1000; i++) {
      const k = r.int(10);
      expect(Number.isInteger(k) && k >= 0 && k < 10).toBe(true);
    }
  });

  it('rejects a non-integer seed', () => {
    expect(() => new Rng(1.5)).toThrow(/integer/);
  });
});
