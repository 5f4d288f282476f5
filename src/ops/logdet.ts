/**
 * log-determinant of symmetric positive-definite matrices, with its gradient (tfjs has neither Cholesky
 * nor logdet). Forward: Cholesky A = L L^T in float64 on the CPU, logdet = 2 sum log L_ii.
 * Backward: d logdet(A) / dA = A^{-1} (symmetric), from the same factorisation.
 * Input [..., m, m], output [...]. Meant for the small matrices of coding-rate losses (use the Sylvester
 * identity logdet(I_d + c Z^T Z) = logdet(I_b + c Z Z^T) to keep m = min(b, d)); cost O(m^3) per matrix.
 */
import * as tf from '../tf.js';

/** Cholesky factor (lower, row-major) of one m x m matrix in float64; throws if not positive definite. */
function cholesky(a: Float64Array, m: number): Float64Array {
  const l = new Float64Array(m * m);
  for (let j = 0; j < m; j++) {
    let d = a[j * m + j];
    for (let k = 0; k < j; k++) d -= l[j * m + k] * l[j * m + k];
    if (!(d > 0)) throw new Error(`logdet: matrix is not positive definite (pivot ${j} is ${d})`);
    const ljj = Math.sqrt(d);
    l[j * m + j] = ljj;
    for (let i = j + 1; i < m; i++) {
      let s = a[i * m + j];
      for (let k = 0; k < j; k++) s -= l[i * m + k] * l[j * m + k];
      l[i * m + j] = s / ljj;
    }
  }
  return l;
}

/** A^{-1} from its Cholesky factor: solve L Y = I, then L^T X = Y. */
function inverseFromCholesky(l: Float64Array, m: number): Float64Array {
  const x = new Float64Array(m * m);
  const y = new Float64Array(m);
  for (let col = 0; col < m; col++) {
    for (let i = 0; i < m; i++) {
      let s = i === col ? 1 : 0;
      for (let k = 0; k < i; k++) s -= l[i * m + k] * y[k];
      y[i] = s / l[i * m + i];
    }
    for (let i = m - 1; i >= 0; i--) {
      let s = y[i];
      for (let k = i + 1; k < m; k++) s -= l[k * m + i] * x[k * m + col];
      x[i * m + col] = s / l[i * m + i];
    }
  }
  return x;
}

export const logdet = tf.customGrad(((a: tf.Tensor, save: tf.GradSaveFunc) => {
  const m = a.shape[a.shape.length - 1];
  if (a.shape.length < 2 || a.shape[a.shape.length - 2] !== m) throw new Error(`logdet needs square matrices, got shape [${a.shape}]`);
  const count = a.size / (m * m);
  const values = a.dataSync();
  const out = new Float32Array(count);
  const inverses = new Float32Array(a.size);
  for (let n = 0; n < count; n++) {
    // Symmetrise in float64 (float32 products are symmetric only up to rounding).
    const sym = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) sym[i * m + j] = 0.5 * (values[n * m * m + i * m + j] + values[n * m * m + j * m + i]);
    const l = cholesky(sym, m);
    let s = 0;
    for (let i = 0; i < m; i++) s += Math.log(l[i * m + i]);
    out[n] = 2 * s;
    inverses.set(inverseFromCholesky(l, m), n * m * m);
  }
  const inverse = tf.tensor(inverses, a.shape);
  save([inverse]);
  return {
    value: tf.tensor(out, a.shape.slice(0, -2)),
    gradFunc: (dy: tf.Tensor, [inv]: tf.Tensor[]) => tf.mul(tf.reshape(dy, [...dy.shape, 1, 1]), inv),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor) => tf.Tensor;

/** FLOPs of logdet with its backward for `count` m x m matrices (Cholesky m^3/3 + inverse m^3). */
export function logdetFlops(count: number, m: number): number {
  return count * ((4 / 3) * m ** 3);
}
