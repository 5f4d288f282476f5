/**
 * Linear probe in closed form: a ridge (regularised least-squares) classifier on standardised features.
 *
 *   x standardised by the training rows' mean and deviation; targets one-hot, centred;
 *   W(lambda) = (X^T X / N + lambda I)^-1 X^T Y / N,  b = mean(Y);  class = argmax(x W + b)
 *
 * X^T X is formed once (float64, N d^2); each penalty is one Cholesky solve of a d x d system, so a long
 * grid of penalties costs little more than one. The penalty is chosen on the validation rows, and the chosen
 * model is scored on the test rows: the test rows never influence a choice. Against the Adam-trained
 * logistic probe (linear_probe.ts) it trades the cross-entropy loss for an exact, iteration-free solution.
 */
import type { Features } from './knn.js';
import type { ProbeResult } from './linear_probe.js';

interface Labelled {
  x: Features;
  y: Int32Array;
}

/** Standardisation by the training rows' mean and deviation: features -> a float64 copy, (x - mean) / std. */
export function standardiser(train: Features): (f: Features) => Float64Array {
  const { count, dim, data } = train;
  const mean = new Float64Array(dim);
  const std = new Float64Array(dim);
  for (let i = 0; i < count; i++) for (let j = 0; j < dim; j++) mean[j] += data[i * dim + j] / count;
  for (let i = 0; i < count; i++)
    for (let j = 0; j < dim; j++) {
      const c = data[i * dim + j] - mean[j];
      std[j] += (c * c) / count;
    }
  for (let j = 0; j < dim; j++) std[j] = Math.sqrt(std[j]) + 1e-6;
  return (f) => {
    const out = new Float64Array(f.count * dim);
    for (let i = 0; i < f.count; i++) for (let j = 0; j < dim; j++) out[i * dim + j] = (f.data[i * dim + j] - mean[j]) / std[j];
    return out;
  };
}

/** Solves (A + lambda I) W = B for symmetric positive semi-definite A [d, d] and B [d, c] by Cholesky. */
export function solveRidge(a: Float64Array, b: Float64Array, d: number, c: number, lambda: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j] + (i === j ? lambda : 0);
      for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
      if (i === j) {
        if (!(s > 0)) throw new Error(`ridge probe: the system is not positive definite at penalty ${lambda} (pivot ${s})`);
        l[i * d + i] = Math.sqrt(s);
      } else l[i * d + j] = s / l[j * d + j];
    }
  }
  const w = new Float64Array(d * c);
  for (let col = 0; col < c; col++) {
    // Forward substitution L z = b, then back substitution L^T w = z.
    const z = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = b[i * c + col];
      for (let k = 0; k < i; k++) s -= l[i * d + k] * z[k];
      z[i] = s / l[i * d + i];
    }
    for (let i = d - 1; i >= 0; i--) {
      let s = z[i];
      for (let k = i + 1; k < d; k++) s -= l[k * d + i] * w[k * c + col];
      w[i * c + col] = s / l[i * d + i];
    }
  }
  return w;
}

/** Top-1 accuracy of the classifier x W + b on standardised rows. */
function accuracy(x: Float64Array, labels: Int32Array, w: Float64Array, bias: Float64Array, d: number, c: number): number {
  let ok = 0;
  const scores = new Float64Array(c);
  for (let i = 0; i < labels.length; i++) {
    scores.set(bias);
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j];
      if (v === 0) continue;
      for (let k = 0; k < c; k++) scores[k] += v * w[j * c + k];
    }
    let best = 0;
    for (let k = 1; k < c; k++) if (scores[k] > scores[best]) best = k;
    if (best === labels[i]) ok++;
  }
  return ok / labels.length;
}

export function ridgeProbe(train: Labelled, val: Labelled, tests: Labelled[], classes: number, penalties: number[]): ProbeResult {
  const { dim: d, count: n } = train.x;
  const c = classes;
  const standardise = standardiser(train.x);
  const [xs, xv] = [standardise(train.x), standardise(val.x)];
  // Class frequencies: the intercept of centred least squares, and the centring of the targets.
  const bias = new Float64Array(c);
  for (let i = 0; i < n; i++) bias[train.y[i]] += 1 / n;
  const gram = new Float64Array(d * d); // X^T X / N (lower triangle is all solveRidge reads)
  const xty = new Float64Array(d * c); // X^T (Y - mean Y) / N = X^T Y / N, since X's columns are centred
  for (let i = 0; i < n; i++) {
    const row = i * d;
    const y = train.y[i];
    for (let j = 0; j < d; j++) {
      const v = xs[row + j] / n;
      xty[j * c + y] += v;
      for (let k = 0; k <= j; k++) gram[j * d + k] += v * xs[row + k];
    }
  }
  let best: { val: number; lambda: number; w: Float64Array } = { val: -1, lambda: penalties[0], w: new Float64Array(0) };
  // Ties go to the penalty listed first.
  for (const lambda of penalties) {
    const w = solveRidge(gram, xty, d, c, lambda);
    const valAcc = accuracy(xv, val.y, w, bias, d, c);
    if (valAcc > best.val) best = { val: valAcc, lambda, w };
  }
  const testAcc = tests.map((t) => accuracy(standardise(t.x), t.y, best.w, bias, d, c));
  return { tests: testAcc, val: best.val, weightDecay: best.lambda };
}
