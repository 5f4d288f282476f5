/** Small statistics shared by evaluation, summaries and reports. */

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1); 0 for fewer than two values. */
export function sd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom (then the normal's 1.96). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** Mean and half-width of its 95 % confidence interval (t-distribution); half-width null for one value. */
export function meanCi95(xs: number[]): { mean: number; halfWidth: number | null; n: number } {
  const n = xs.length;
  if (n < 2) return { mean: n ? xs[0] : NaN, halfWidth: null, n };
  const t = n - 1 <= T975.length ? T975[n - 2] : 1.96;
  return { mean: mean(xs), halfWidth: (t * sd(xs)) / Math.sqrt(n), n };
}
