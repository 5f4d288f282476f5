/**
 * Checks method losses against fixture files (test/fixtures/reference/losses format): loss, named terms and
 * gradients, each as a relative L2 error against the fixture's tolerance.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '../engine/tf.js';
import type { ReferenceLoss } from '../methods/method.js';
import { METHODS } from '../methods/registry.js';

/** Every method's loss that has a reference file, by method name. */
export const LOSSES: Record<string, ReferenceLoss> = Object.fromEntries(
  Object.values(METHODS).flatMap((d) => (d.referenceLoss ? [[d.name, d.referenceLoss]] : [])),
);

interface FixtureTensor {
  shape: number[];
  data: number[];
}

export interface Fixture {
  name?: string;
  method: string;
  params: Record<string, number>;
  inputs: Record<string, FixtureTensor>;
  expected: { loss: number; terms?: Record<string, number | FixtureTensor>; grad: Record<string, FixtureTensor> };
  tolerance: { loss_rel: number; grad_rel: number };
}

export interface CheckResult {
  fixture: string;
  method: string;
  /** Largest relative error of the loss and its named terms. */
  loss_error: number;
  /** Largest relative error over the gradients of the inputs the fixture gives. */
  grad_error: number;
  pass: boolean;
  error?: string;
}

/** ||got - want|| / ||want|| over flattened values. */
export function relativeL2(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Number.POSITIVE_INFINITY;
  let num = 0;
  let den = 0;
  for (let i = 0; i < got.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

export async function checkFixture(fixture: Fixture, label: string): Promise<CheckResult> {
  const base = { fixture: label, method: fixture.method };
  const lossFn = LOSSES[fixture.method];
  if (!lossFn)
    return { ...base, loss_error: NaN, grad_error: NaN, pass: false, error: `unknown method; known: ${Object.keys(LOSSES).join(', ')}` };
  const names = Object.keys(fixture.inputs);
  const { value, terms, grads } = tf.tidy(() => {
    const inputs = names.map((n) => tf.tensor(fixture.inputs[n].data, fixture.inputs[n].shape));
    let terms: Record<string, tf.Tensor> = {};
    const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => {
      const r = lossFn(Object.fromEntries(names.map((n, i) => [n, xs[i]])), fixture.params);
      terms = Object.fromEntries(Object.entries(r.terms).map(([k, v]) => [k, tf.keep(tf.clone(v))]));
      return r.loss;
    })(inputs);
    return { value, terms, grads };
  });
  // Read asynchronously: the webgpu backend cannot read synchronously in Node.
  const read = async (t: tf.Tensor | undefined) => (t ? await t.data() : null);
  const lossErrors = [relativeL2((await read(value))!, [fixture.expected.loss])];
  for (const [k, want] of Object.entries(fixture.expected.terms ?? {})) {
    const got = await read(terms[k]);
    lossErrors.push(!got ? Number.POSITIVE_INFINITY : relativeL2(got, typeof want === 'number' ? [want] : want.data));
  }
  const gradErrors: number[] = [];
  for (const [name, want] of Object.entries(fixture.expected.grad)) {
    const got = await read(grads[names.indexOf(name)]);
    gradErrors.push(!got ? Number.POSITIVE_INFINITY : relativeL2(got, want.data));
  }
  tf.dispose([value, ...Object.values(terms), ...grads]);
  const loss_error = Math.max(...lossErrors);
  const grad_error = Math.max(0, ...gradErrors);
  return { ...base, loss_error, grad_error, pass: loss_error < fixture.tolerance.loss_rel && grad_error < fixture.tolerance.grad_rel };
}

/** Checks every *.json fixture in `dir`. */
export async function checkFixtureDir(dir: string): Promise<CheckResult[]> {
  if (!fs.existsSync(dir)) throw new Error(`no fixture folder ${dir}`);
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  if (files.length === 0) throw new Error(`no *.json fixtures in ${dir}`);
  const results: CheckResult[] = [];
  for (const file of files) {
    try {
      results.push(await checkFixture(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Fixture, file));
    } catch (e) {
      results.push({
        fixture: file,
        method: '?',
        loss_error: NaN,
        grad_error: NaN,
        pass: false,
        error: (e as Error).message.split('\n')[0],
      });
    }
  }
  return results;
}
