/**
 * Linear probe on frozen features: multinomial logistic regression on standardised features (mean and
 * deviation of the training rows), full-batch Adam. One model per weight decay, all trained together as
 * one batched problem (the models are independent; batching only saves kernel launches). The weight
 * decay is chosen on the validation rows and the chosen model is scored on the test rows: the test rows
 * never influence a choice.
 */
import * as tf from '../../engine/tf.js';
import type { Features } from './knn.js';

export interface ProbeSettings {
  iterations: number;
  lr: number;
  weightDecays: number[];
}

/** The suite's probe: 'adam' is the logistic regression below; 'lbfgs' the same objective solved to convergence (logistic_probe.ts). */
export interface LinearSettings extends ProbeSettings {
  solver: 'adam' | 'lbfgs';
}

export interface ProbeResult {
  /** Accuracy on each test set, in order. */
  tests: number[];
  val: number;
  weightDecay: number;
  /** The training objective at the chosen solution (the L-BFGS probe only): how close to the optimum it got. */
  objective?: number;
}

interface Labelled {
  x: Features;
  y: Int32Array;
}

/** Top-1 accuracy of each of the G models from their predicted classes [N, G]. */
async function accuracies(predicted: tf.Tensor, labels: Int32Array): Promise<number[]> {
  const [n, g] = predicted.shape;
  // Read asynchronously: the webgpu backend cannot read synchronously in Node.
  const pred = (await predicted.data()) as Int32Array;
  predicted.dispose();
  const ok = new Array<number>(g).fill(0);
  for (let i = 0; i < n; i++) for (let m = 0; m < g; m++) if (pred[i * g + m] === labels[i]) ok[m]++;
  return ok.map((c) => c / n);
}

export async function linearProbe(
  train: Labelled,
  val: Labelled,
  tests: Labelled[],
  classes: number,
  settings: ProbeSettings,
): Promise<ProbeResult> {
  const d = train.x.dim;
  const g = settings.weightDecays.length;
  const [predVal, ...predTests] = tf.tidy(() => {
    const xTrain = tf.tensor2d(train.x.data, [train.x.count, d]);
    const mean = tf.mean(xTrain, 0, true);
    const std = tf.add(tf.sqrt(tf.mean(tf.square(tf.sub(xTrain, mean)), 0, true)), 1e-6);
    const standardise = (f: Features) => tf.div(tf.sub(tf.tensor2d(f.data, [f.count, d]), mean), std) as tf.Tensor2D;
    const [xs, xv] = [standardise(train.x), standardise(val.x)];
    const yTrain = tf.oneHot(tf.tensor1d(train.y, 'int32'), classes); // [N, C]
    const decay = tf.tensor3d(settings.weightDecays, [g, 1, 1]);
    const w = tf.variable(tf.zeros([d, g * classes]));
    const b = tf.variable(tf.zeros([g * classes]));
    const logits = (x: tf.Tensor2D) => tf.reshape(tf.add(tf.matMul(x, w), b), [x.shape[0], g, classes]) as tf.Tensor3D;
    const optimizer = tf.train.adam(settings.lr);
    for (let it = 0; it < settings.iterations; it++) {
      optimizer.minimize(() => {
        // Sum over models of (mean cross-entropy + wd/2 |W|^2): each model's gradient is its own.
        const logProbs = tf.logSoftmax(logits(xs));
        const ce = tf.div(tf.neg(tf.sum(tf.mul(logProbs, tf.expandDims(yTrain, 1)))), xs.shape[0]);
        const l2 = tf.sum(tf.mul(tf.sum(tf.square(tf.reshape(w, [d, g, classes])), [0, 2]), tf.reshape(decay, [g])));
        return tf.add(ce, tf.mul(l2, 0.5)) as tf.Scalar;
      });
    }
    const predicted = [xv, ...tests.map((t) => standardise(t.x))].map((x) => tf.argMax(logits(x), 2));
    optimizer.dispose();
    w.dispose();
    b.dispose();
    return predicted;
  });
  const valAcc = await accuracies(predVal, val.y);
  const testAcc = await Promise.all(predTests.map((p, i) => accuracies(p, tests[i].y)));
  // Ties go to the weight decay listed first.
  let best = 0;
  for (let m = 1; m < g; m++) if (valAcc[m] > valAcc[best]) best = m;
  return { tests: testAcc.map((a) => a[best]), val: valAcc[best], weightDecay: settings.weightDecays[best] };
}
