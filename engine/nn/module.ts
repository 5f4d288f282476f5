/**
 * The functional nn layer's contract. A module is a *spec*: it names its parameters and buffers,
 * runs a forward pass reading them from explicit trees, and traces its own cost. Parameters live
 * outside the module (see params.ts), so an EMA copy for BYOL or a frozen copy for evaluation is just
 * another tree passed to the same forward.
 *
 * Layout: activations are NHWC, convolution filters HWIO [k, k, in, out], linear weights [in, out].
 * Parameter names follow torchvision (`layer1.0.conv1.weight`) so costs line up with PyTorch references.
 */
import type * as tf from '../tf.js';

/** What an optimizer needs to know: biases and norm parameters are excluded from decay and LARS. */
export type ParamGroup = 'weight' | 'bias' | 'norm';

export type Init = { kind: 'normal'; std: number } | { kind: 'uniform'; bound: number } | { kind: 'constant'; value: number };

export interface ParamSpec {
  name: string;
  shape: number[];
  group: ParamGroup;
  init: Init;
}

/** Non-trained state, e.g. batch norm running statistics. */
export interface BufferSpec {
  name: string;
  shape: number[];
  value: number;
}

/** One conv or linear layer's forward cost for one example (the FLOP accounting unit). */
export interface LayerCost {
  layer: string;
  kind: 'conv' | 'linear';
  /** Output shape of one example, channels first ([C, H, W] or [D]) as PyTorch reports it. */
  out: number[];
  macs: number;
}

export type NamedTensors = Record<string, tf.Tensor>;

export interface ForwardContext {
  params: NamedTensors;
  buffers: NamedTensors;
  /** Training mode: batch norm uses batch statistics and reports new running statistics. */
  training: boolean;
  /** Filled in training mode with new buffer values (kept out of tidy scopes); the caller assigns them. */
  bufferUpdates: Map<string, tf.Tensor>;
}

export interface Module {
  readonly name: string;
  params(): ParamSpec[];
  buffers(): BufferSpec[];
  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor;
  /**
   * Output shape for one example of shape `inShape` (NHWC without the batch: [H, W, C], or [D]),
   * appending the cost of every conv and linear layer to `costs`.
   */
  trace(inShape: number[], costs: LayerCost[]): number[];
}

/** Joins a parent prefix and a child name the way PyTorch's state_dict does. */
export function joinName(prefix: string, name: string): string {
  return prefix === '' ? name : name === '' ? prefix : `${prefix}.${name}`;
}

export function getParam(ctx: ForwardContext, name: string): tf.Tensor {
  const p = ctx.params[name];
  if (p === undefined) throw new Error(`missing parameter "${name}" in the parameter tree`);
  return p;
}

export function getBuffer(ctx: ForwardContext, name: string): tf.Tensor {
  const b = ctx.buffers[name];
  if (b === undefined) throw new Error(`missing buffer "${name}" in the buffer tree`);
  return b;
}
