/**
 * Weighted k-nearest-neighbour classification on frozen features (Wu et al., 2018; solo-learn's
 * WeightedKNNClassifier): cosine similarity to a labelled bank, the k most similar vote with weight
 * exp(sim / T), the class with the largest total wins.
 */
import { normalizeRows } from '../../engine/ops/embeddings.js';
import * as tf from '../../engine/tf.js';

export interface Features {
  data: Float32Array;
  count: number;
  dim: number;
}

/** Top-1 accuracy for each k in `ks`, from one similarity search at the largest k. */
export async function knnAccuracy(
  bank: Features,
  bankLabels: Int32Array,
  query: Features,
  queryLabels: Int32Array,
  ks: number[],
  temperature: number,
  classes: number,
): Promise<Record<number, number>> {
  const kMax = Math.min(Math.max(...ks), bank.count);
  const correct: Record<number, number> = Object.fromEntries(ks.map((k) => [k, 0]));
  const bankT = tf.tidy(() => tf.transpose(normalizeRows(tf.tensor2d(bank.data, [bank.count, bank.dim]))));
  const chunk = 256;
  const scores = new Float64Array(classes);
  try {
    for (let start = 0; start < query.count; start += chunk) {
      const n = Math.min(chunk, query.count - start);
      const { values, indices } = tf.tidy(() => {
        const q = normalizeRows(tf.tensor2d(query.data.subarray(start * query.dim, (start + n) * query.dim), [n, query.dim]));
        return tf.topk(tf.matMul(q, bankT), kMax);
      });
      const [sims, idx] = [(await values.data()) as Float32Array, (await indices.data()) as Int32Array];
      tf.dispose([values, indices]);
      for (let i = 0; i < n; i++) {
        for (const k of ks) {
          scores.fill(0);
          for (let j = 0; j < Math.min(k, kMax); j++) scores[bankLabels[idx[i * kMax + j]]] += Math.exp(sims[i * kMax + j] / temperature);
          let best = 0;
          for (let c = 1; c < classes; c++) if (scores[c] > scores[best]) best = c;
          if (best === queryLabels[start + i]) correct[k]++;
        }
      }
    }
  } finally {
    bankT.dispose();
  }
  return Object.fromEntries(ks.map((k) => [k, correct[k] / query.count]));
}
