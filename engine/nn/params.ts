/**
 * Explicit parameter and buffer trees: flat maps from torchvision-style names to tensors.
 * Trainable parameters are tf.Variables so optimizers update them in place; copies (EMA targets,
 * frozen evaluation encoders) are plain new trees.
 */
import * as tf from '../tf.js';
import { Rng } from '../random.js';
import type { Module, NamedTensors, ParamSpec } from './module.js';

export type ParamTree = Record<string, tf.Variable>;

export interface ModelState {
  params: ParamTree;
  buffers: ParamTree;
  /** Parameter specs by name: shape, optimizer group, init. */
  specs: Record<string, ParamSpec>;
}

function initValues(spec: ParamSpec, rng: Rng): Float32Array {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  switch (spec.init.kind) {
    case 'normal':
      return rng.fork(spec.name).fillNormal(data, spec.init.std);
    case 'uniform':
      return rng.fork(spec.name).fillUniform(data, -spec.init.bound, spec.init.bound);
    case 'constant':
      return data.fill(spec.init.value);
  }
}

function checkUnique(names: string[], what: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new Error(`duplicate ${what} name "${n}"`);
    seen.add(n);
  }
}

/** Creates parameters (seeded per name, so they do not depend on creation order) and buffers. */
export function initModel(modules: Module[], seed: number): ModelState {
  const rng = new Rng(seed);
  const specs = modules.flatMap((m) => m.params());
  const bufferSpecs = modules.flatMap((m) => m.buffers());
  checkUnique(
    specs.map((s) => s.name),
    'parameter',
  );
  checkUnique(
    bufferSpecs.map((s) => s.name),
    'buffer',
  );
  const params: ParamTree = {};
  const byName: Record<string, ParamSpec> = {};
  for (const spec of specs) {
    params[spec.name] = tf.ownedVariable(tf.tensor(initValues(spec, rng), spec.shape), true);
    byName[spec.name] = spec;
  }
  const buffers: ParamTree = {};
  for (const b of bufferSpecs) buffers[b.name] = tf.ownedVariable(tf.fill(b.shape, b.value), false);
  return { params, buffers, specs: byName };
}

/** A new, independent copy (e.g. BYOL's EMA target, or a frozen encoder for evaluation). */
export function copyModel(state: ModelState, trainable = false): ModelState {
  const copy = (tree: ParamTree, t: boolean): ParamTree =>
    Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, tf.ownedVariable(v.clone(), t)]));
  return { params: copy(state.params, trainable), buffers: copy(state.buffers, false), specs: state.specs };
}

/** target <- tau * target + (1 - tau) * online, for every parameter and buffer. */
export function emaUpdate(target: ModelState, online: ModelState, tau: number): void {
  tf.tidy(() => {
    for (const tree of ['params', 'buffers'] as const) {
      for (const [name, t] of Object.entries(target[tree])) {
        t.assign(tf.add(tf.mul(t, tau), tf.mul(online[tree][name], 1 - tau)));
      }
    }
  });
}

/** Writes new buffer values from a training forward pass and frees them. */
export function applyBufferUpdates(state: ModelState, updates: Map<string, tf.Tensor>): void {
  for (const [name, value] of updates) {
    const buffer = state.buffers[name];
    if (!buffer) throw new Error(`update for unknown buffer "${name}"`);
    buffer.assign(value);
    value.dispose();
  }
  updates.clear();
}

export function countParams(modules: Module[]): number {
  return modules.flatMap((m) => m.params()).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

export function disposeModel(state: ModelState): void {
  for (const v of [...Object.values(state.params), ...Object.values(state.buffers)]) v.dispose();
}

export async function readTree(tree: NamedTensors): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(tree)) out[k] = (await v.data()) as Float32Array;
  return out;
}
