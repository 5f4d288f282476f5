/**
 * Schedules over budget *progress* in [0, 1] (spent / budget), never over epochs, so every method
 * finishes its warm-up and decay inside whatever budget it is given.
 */

export interface WarmupCosineOptions {
  /** Peak value, reached at the end of warm-up. */
  base: number;
  /** Fraction of the budget spent warming up linearly, in [0, 1). */
  warmup?: number;
  /** Value at the start of warm-up, as a fraction of base. Default 0. */
  warmupStartFactor?: number;
  /** Value at progress 1. Default 0. */
  final?: number;
}

function checkProgress(progress: number): number {
  if (!Number.isFinite(progress)) throw new Error(`schedule progress must be a number, got ${progress}`);
  return Math.min(Math.max(progress, 0), 1);
}

/** Linear warm-up to `base`, then half-cosine down to `final`. */
export function warmupCosine(progress: number, options: WarmupCosineOptions): number {
  const p = checkProgress(progress);
  const { base, warmup = 0, warmupStartFactor = 0, final = 0 } = options;
  if (warmup < 0 || warmup >= 1) throw new Error(`warm-up fraction must be in [0, 1), got ${warmup}`);
  if (p < warmup) return base * (warmupStartFactor + (1 - warmupStartFactor) * (p / warmup));
  const t = warmup === 0 ? p : (p - warmup) / (1 - warmup);
  return final + (base - final) * 0.5 * (1 + Math.cos(Math.PI * t));
}

/** Cosine ramp from `start` at progress 0 to `end` at progress 1 (e.g. BYOL's EMA tau 0.99 -> 1). */
export function cosineRamp(progress: number, start: number, end: number): number {
  const p = checkProgress(progress);
  return end - (end - start) * 0.5 * (1 + Math.cos(Math.PI * p));
}
