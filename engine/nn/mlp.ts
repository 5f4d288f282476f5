/**
 * MLP heads (projectors, predictors): Linear -> BN -> ReLU (or Linear -> ReLU) for every hidden layer, then a final Linear.
 * E.g. EMP-SSL's projector is mlpHead('projector', [512, 4096, 4096, 1024]).
 */
import { BatchNorm, Linear, relu, Sequential } from './layers.js';
import { joinName, type Module } from './module.js';

export interface MlpOptions {
  /** Batch norm on every hidden layer (Linear -> BN -> ReLU). Default true; false: Linear -> ReLU (SimCLR's head). */
  hiddenBatchNorm?: boolean;
  /** Batch norm after the last linear layer (affine), as some projectors use. Default false. */
  lastBatchNorm?: boolean;
  /** Bias on the hidden linear layers (PyTorch's default true even before BN). */
  hiddenBias?: boolean;
}

export function mlpHead(name: string, dims: number[], options: MlpOptions = {}): Sequential {
  if (dims.length < 2) throw new Error(`${name}: an MLP needs at least input and output sizes, got [${dims}]`);
  const layers: Module[] = [];
  let index = 0;
  for (let i = 0; i < dims.length - 1; i++) {
    const last = i === dims.length - 2;
    layers.push(new Linear(joinName(name, String(index++)), dims[i], dims[i + 1], last || (options.hiddenBias ?? true)));
    if (!last) {
      if (options.hiddenBatchNorm ?? true) layers.push(new BatchNorm(joinName(name, String(index++)), dims[i + 1]));
      layers.push(relu(joinName(name, String(index++))));
    } else if (options.lastBatchNorm) {
      layers.push(new BatchNorm(joinName(name, String(index++)), dims[i + 1]));
    }
  }
  return new Sequential(name, layers);
}
