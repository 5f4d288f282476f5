/**
 * log-determinant of symmetric positive-definite matrices, with its gradient (tfjs has neither Cholesky
 * nor logdet). Backward: d logdet(A) / dA = A^{-1} (symmetric), from the forward's factorisation.
 * Input [..., m, m], output [...]. Meant for the small matrices of coding-rate losses (use the Sylvester
 * identity logdet(I_d + c Z^T Z) = logdet(I_b + c Z Z^T) to keep m = min(b, d)); cost O(m^3) per matrix.
 *
 * Two implementations of the same op:
 *  - host (backends that read synchronously: cpu, wasm, tensorflow): Cholesky A = L L^T in float64 on
 *    the CPU, logdet = 2 sum log L_ii;
 *  - device (webgpu, which cannot read synchronously in Node): the sweep operator in float32 tensor ops,
 *    m sweeps over all matrices at once; the pivots' logs sum to logdet and the swept matrix is -A^{-1}.
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

function checkSquare(a: tf.Tensor): number {
  const m = a.shape[a.shape.length - 1];
  if (a.shape.length < 2 || a.shape[a.shape.length - 2] !== m) throw new Error(`logdet needs square matrices, got shape [${a.shape}]`);
  return m;
}

export const logdetHost = tf.customGrad(((a: tf.Tensor, save: tf.GradSaveFunc) => {
  const m = checkSquare(a);
  const count = a.size / (m * m);
  const values = a.dataSync();
  const out = new Float32Array(count);
  const inverses = new Float32Array(a.size);
  for (let n = 0; n < count; n++) {
    // Symmetrise in float64 (float32 products are symmetric only up to rounding).
    const sym = new Float64Array(m * m);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < m; j++) sym[i * m + j] = 0.5 * (values[n * m * m + i * m + j] + values[n * m * m + j * m + i]);
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

/**
 * Sweeping pivot k of a symmetric B (pivot d = B_kk, column b = B[:, k], e = e_k, w = b with its k-th
 * entry replaced by -1):  B <- B with row and column k zeroed, minus w w^T / d.  That is Goodnight's sweep
 * (B_ij - b_i b_j / d off row and column k; b_i / d on them; -1/d at k, k). Sweeping every pivot of an SPD
 * matrix leaves -A^{-1}; the pivots are the Schur complements' leading entries, whose product is det A.
 * Without pivoting this is as stable as Cholesky for SPD input. A matrix that is not positive definite
 * gives a non-positive pivot and so a NaN log (the trainer reports a NaN loss as divergence).
 */
function sweepAll(a: tf.Tensor3D): { pivots: tf.Tensor3D; negInverse: tf.Tensor3D } {
  const [count, m] = a.shape;
  const eye = tf.eye(m);
  const offDiagonal = tf.sub(1, eye);
  let b = tf.mul(tf.add(a, tf.transpose(a, [0, 2, 1])), 0.5) as tf.Tensor3D; // symmetric to the last bit
  const pivots: tf.Tensor3D[] = [];
  for (let k = 0; k < m; k++) {
    const next = tf.tidy(() => {
      const e = tf.reshape(tf.slice(eye, [0, k], [m, 1]), [1, m, 1]);
      const notE = tf.reshape(tf.slice(offDiagonal, [0, k], [m, 1]), [1, m, 1]);
      const column = tf.slice(b, [0, 0, k], [count, m, 1]);
      const pivot = tf.slice(column, [0, k, 0], [count, 1, 1]);
      const w = tf.sub(tf.mul(column, notE), e);
      const keep = tf.mul(notE, tf.reshape(notE, [1, 1, m])); // zero row and column k
      const swept = tf.sub(tf.mul(b, keep), tf.div(tf.matMul(w, w, false, true), pivot)) as tf.Tensor3D;
      return { swept, pivot };
    });
    b.dispose();
    b = next.swept;
    pivots.push(next.pivot as tf.Tensor3D);
  }
  const out = { pivots: tf.concat(pivots, 1) as tf.Tensor3D, negInverse: b };
  tf.dispose([eye, offDiagonal, ...pivots]);
  return out;
}

export const logdetDevice = tf.customGrad(((a: tf.Tensor, save: tf.GradSaveFunc) => {
  const m = checkSquare(a);
  const batch = a.shape.slice(0, -2);
  const { pivots, negInverse } = sweepAll(tf.reshape(a, [-1, m, m]) as tf.Tensor3D);
  const inverse = tf.reshape(tf.neg(negInverse), a.shape);
  save([inverse]);
  return {
    value: tf.reshape(tf.sum(tf.log(pivots), [1, 2]), batch),
    gradFunc: (dy: tf.Tensor, [inv]: tf.Tensor[]) => tf.mul(tf.reshape(dy, [...dy.shape, 1, 1]), inv),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor) => tf.Tensor;

/** Backends that cannot read tensors synchronously, where logdet must stay on the device. */
const DEVICE_ONLY_BACKENDS = new Set(['webgpu']);

/** logdet of SPD matrices [..., m, m] -> [...], with its gradient, on the current backend. */
export function logdet(a: tf.Tensor): tf.Tensor {
  return DEVICE_ONLY_BACKENDS.has(tf.getBackend()) ? logdetDevice(a) : logdetHost(a);
}

/** FLOPs of logdet with its backward for `count` m x m matrices: the algorithm's count (Cholesky m^3/3 + inverse m^3), whichever implementation runs. */
export function logdetFlops(count: number, m: number): number {
  return count * ((4 / 3) * m ** 3);
}
