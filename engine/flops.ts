/**
 * FLOP accounting, computed from the same module specs that run (`Module.trace`).
 *
 * Convention (stated once, used everywhere and printed in reports):
 *  - forward FLOPs = 2 x multiply-accumulates of conv and linear layers; batch norm, ReLU, pooling and
 *    additions are not counted (the convention of fvcore/ptflops and of ../shared/reference/flops.json);
 *  - training FLOPs = 3 x forward FLOPs of every crop through every network that back-propagates
 *    (forward + gradient w.r.t. activations + gradient w.r.t. weights)
 *    + 1 x forward FLOPs of every crop through networks that do not (e.g. BYOL's EMA target)
 *    + the loss's own FLOPs (e.g. EMP-SSL's log-determinants), as reported by the method.
 */
import type { LayerCost, Module } from './nn/module.js';

export const TRAINING_FLOPS_RULE =
  'training FLOPs = 3 x forward FLOPs (2 x conv/linear MACs) of each crop through each back-propagated network ' +
  '+ 1 x forward FLOPs through non-back-propagated networks (e.g. EMA targets) + the loss FLOPs; ' +
  'batch norm, activations, pooling and additions are not counted';

export interface ForwardCost {
  /** Per example. */
  macs: number;
  flops: number;
  layers: LayerCost[];
  outShape: number[];
}

/** Cost of one example of shape `inShape` ([H, W, C] or [D]) through `modules` in sequence. */
export function forwardCost(modules: Module[], inShape: number[]): ForwardCost {
  const layers: LayerCost[] = [];
  let shape = inShape;
  for (const m of modules) shape = m.trace(shape, layers);
  const macs = layers.reduce((s, l) => s + l.macs, 0);
  return { macs, flops: 2 * macs, layers, outShape: shape };
}

export interface TrainingStepCost {
  /** Forward FLOPs per crop of the networks that back-propagate, and how many crops go through them. */
  backprop: { flopsPerCrop: number; crops: number }[];
  /** Forward FLOPs per crop of networks run without gradients. */
  forwardOnly?: { flopsPerCrop: number; crops: number }[];
  /** The loss's own FLOPs for the step. */
  lossFlops?: number;
}

export function trainingFlops(step: TrainingStepCost): number {
  const backprop = step.backprop.reduce((s, p) => s + 3 * p.flopsPerCrop * p.crops, 0);
  const forwardOnly = (step.forwardOnly ?? []).reduce((s, p) => s + p.flopsPerCrop * p.crops, 0);
  return backprop + forwardOnly + (step.lossFlops ?? 0);
}
