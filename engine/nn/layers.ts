/**
 * Basic layers: convolution, batch norm, linear, ReLU, pooling, and a sequential container.
 * Initialisation follows torchvision's ResNet and PyTorch's defaults (cited per layer).
 */
import { BATCH_NORM_GRAD, BATCH_NORM_TRAIN } from '../backends/onednn.js';
import * as tf from '../tf.js';
import {
  getBuffer,
  getParam,
  joinName,
  type BufferSpec,
  type ForwardContext,
  type LayerCost,
  type Module,
  type ParamSpec,
} from './module.js';

function convOut(size: number, k: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - k) / stride) + 1;
}

/** 2-D convolution, no bias (ResNets follow every conv with batch norm). Symmetric padding as in PyTorch. */
export class Conv2d implements Module {
  constructor(
    readonly name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly stride = 1,
    readonly padding = 0,
  ) {}

  params(): ParamSpec[] {
    // torchvision ResNet: kaiming_normal_(mode="fan_out", nonlinearity="relu").
    const fanOut = this.outChannels * this.kernel * this.kernel;
    return [
      {
        name: joinName(this.name, 'weight'),
        shape: [this.kernel, this.kernel, this.inChannels, this.outChannels],
        group: 'weight',
        init: { kind: 'normal', std: Math.sqrt(2 / fanOut) },
      },
    ];
  }

  buffers(): BufferSpec[] {
    return [];
  }

  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const w = getParam(ctx, joinName(this.name, 'weight')) as tf.Tensor4D;
    return tf.conv2d(x as tf.Tensor4D, w, this.stride, this.padding);
  }

  trace([h, w, c]: number[], costs: LayerCost[]): number[] {
    if (c !== this.inChannels) throw new Error(`${this.name}: expected ${this.inChannels} input channels, got ${c}`);
    const oh = convOut(h, this.kernel, this.stride, this.padding);
    const ow = convOut(w, this.kernel, this.stride, this.padding);
    const macs = oh * ow * this.outChannels * this.inChannels * this.kernel * this.kernel;
    costs.push({ layer: this.name, kind: 'conv', out: [this.outChannels, oh, ow], macs });
    return [oh, ow, this.outChannels];
  }
}

/**
 * Batch norm over the last (channel) axis, for NHWC maps and [N, D] features alike.
 * Training: normalises with the batch's biased variance and updates running statistics with
 * momentum 0.1 using the unbiased variance (PyTorch's convention). Eval: uses running statistics.
 */
export class BatchNorm implements Module {
  constructor(
    readonly name: string,
    readonly channels: number,
    readonly eps = 1e-5,
    readonly momentum = 0.1,
    /** Zero-init gamma (used for the last BN of residual branches when asked). */
    readonly zeroInit = false,
  ) {}

  params(): ParamSpec[] {
    return [
      {
        name: joinName(this.name, 'weight'),
        shape: [this.channels],
        group: 'norm',
        init: { kind: 'constant', value: this.zeroInit ? 0 : 1 },
      },
      { name: joinName(this.name, 'bias'), shape: [this.channels], group: 'norm', init: { kind: 'constant', value: 0 } },
    ];
  }

  buffers(): BufferSpec[] {
    return [
      { name: joinName(this.name, 'running_mean'), shape: [this.channels], value: 0 },
      { name: joinName(this.name, 'running_var'), shape: [this.channels], value: 1 },
    ];
  }

  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const gamma = getParam(ctx, joinName(this.name, 'weight')) as tf.Tensor1D;
    const beta = getParam(ctx, joinName(this.name, 'bias')) as tf.Tensor1D;
    const meanName = joinName(this.name, 'running_mean');
    const varName = joinName(this.name, 'running_var');
    if (!ctx.training) {
      return tf.batchNorm(x, getBuffer(ctx, meanName) as tf.Tensor1D, getBuffer(ctx, varName) as tf.Tensor1D, beta, gamma, this.eps);
    }
    const count = x.size / this.channels;
    if (count < 2) throw new Error(`${this.name}: batch norm in training mode needs more than one value per channel`);
    const { y, mean, variance } = batchNormTrain(x, gamma, beta, this.eps);
    const m = this.momentum;
    // A layer run several times in one step (one view at a time) updates its statistics in sequence,
    // as PyTorch's would: start from this step's pending update when there is one, and free it.
    const update = (name: string, batchValue: tf.Tensor, scale: number) => {
      const pending = ctx.bufferUpdates.get(name);
      const current = pending ?? getBuffer(ctx, name);
      ctx.bufferUpdates.set(name, tf.keep(tf.tidy(() => tf.add(tf.mul(current, 1 - m), tf.mul(batchValue, scale)))));
      pending?.dispose();
    };
    update(meanName, mean, m);
    update(varName, variance, (m * count) / (count - 1));
    mean.dispose();
    variance.dispose();
    return y;
  }

  trace(inShape: number[]): number[] {
    return inShape;
  }
}

/**
 * Training-mode batch norm with a hand-written backward pass. tfjs's generic batchNorm gradient tiles
 * the statistics to full size and sums several times; this one uses the classic closed form
 *   dx = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)),  dgamma = sum(dy * xhat),  dbeta = sum(dy)
 * with broadcasting only. Returns the batch mean and biased variance too (kept, owned by the caller).
 */
function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number) {
  if (tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend())) return batchNormTrainKernel(x, gamma, beta, eps);
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const count = x.size / x.shape[x.shape.length - 1];
  let stats: { mean: tf.Tensor; variance: tf.Tensor } | undefined;
  const op = tf.customGrad(((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const mean = tf.mean(xIn, axes);
    const centered = tf.sub(xIn, mean);
    const variance = tf.mean(tf.square(centered), axes);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(centered, rstd);
    stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      // tfjs keeps every tensor made during back-propagation until it ends: free the temporaries here.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xh, rs, gm] = saved;
          const dbeta = tf.sum(dy, axes);
          const dgamma = tf.sum(tf.mul(dy, xh), axes);
          const inner = tf.sub(tf.sub(dy, tf.div(dbeta, count)), tf.mul(xh, tf.div(dgamma, count)));
          return [tf.mul(inner, tf.mul(gm, rs)), dgamma, dbeta];
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const y = op(x, gamma, beta);
  return { y, mean: stats!.mean, variance: stats!.variance };
}

/** The same, on the backend's fused batch-norm kernels (oneDNN on wasm): one pass each way. */
function batchNormTrainKernel(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number) {
  let stats: { mean: tf.Tensor; variance: tf.Tensor } | undefined;
  const op = tf.customGrad(((xIn: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x: xIn, scale: g, shift: b }, { eps }) as tf.Tensor[];
    // The caller owns (and frees) these copies; the originals stay saved for the backward pass.
    stats = { mean: tf.keep(mean.clone()), variance: tf.keep(variance.clone()) };
    save([xIn, mean, variance, g]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, m, v, gm] = saved;
        return tf.engine().runKernel(BATCH_NORM_GRAD, { dy, x: xs, mean: m, variance: v, scale: gm }, { eps }) as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const y = op(x, gamma, beta);
  return { y, mean: stats!.mean, variance: stats!.variance };
}

/** Fully connected layer y = x W + b; PyTorch's default init (uniform, bound 1/sqrt(fan_in)). */
export class Linear implements Module {
  constructor(
    readonly name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly bias = true,
  ) {}

  params(): ParamSpec[] {
    const bound = 1 / Math.sqrt(this.inFeatures);
    const specs: ParamSpec[] = [
      {
        name: joinName(this.name, 'weight'),
        shape: [this.inFeatures, this.outFeatures],
        group: 'weight',
        init: { kind: 'uniform', bound },
      },
    ];
    if (this.bias)
      specs.push({ name: joinName(this.name, 'bias'), shape: [this.outFeatures], group: 'bias', init: { kind: 'uniform', bound } });
    return specs;
  }

  buffers(): BufferSpec[] {
    return [];
  }

  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const w = getParam(ctx, joinName(this.name, 'weight')) as tf.Tensor2D;
    const bias = this.bias ? getParam(ctx, joinName(this.name, 'bias')) : undefined;
    return tf.fused.matMul({ a: x as tf.Tensor2D, b: w, bias });
  }

  trace([d]: number[], costs: LayerCost[]): number[] {
    if (d !== this.inFeatures) throw new Error(`${this.name}: expected ${this.inFeatures} input features, got ${d}`);
    costs.push({ layer: this.name, kind: 'linear', out: [this.outFeatures], macs: this.inFeatures * this.outFeatures });
    return [this.outFeatures];
  }
}

/** A parameter-free module from a function and a shape rule. */
class Stateless implements Module {
  constructor(
    readonly name: string,
    private readonly fn: (x: tf.Tensor) => tf.Tensor,
    private readonly shape: (inShape: number[]) => number[] = (s) => s,
  ) {}
  params(): ParamSpec[] {
    return [];
  }
  buffers(): BufferSpec[] {
    return [];
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.fn(x);
  }
  trace(inShape: number[]): number[] {
    return this.shape(inShape);
  }
}

export function relu(name = 'relu'): Module {
  return new Stateless(name, (x) => tf.relu(x));
}

/** Max pooling with symmetric padding (PyTorch semantics: padded cells never win). */
export function maxPool(name: string, kernel: number, stride: number, padding: number): Module {
  return new Stateless(
    name,
    (x) => tf.maxPool(x as tf.Tensor4D, kernel, stride, padding),
    ([h, w, c]) => [convOut(h, kernel, stride, padding), convOut(w, kernel, stride, padding), c],
  );
}

/** Global average pooling: [N, H, W, C] -> [N, C]. */
export function globalAvgPool(name = 'avgpool'): Module {
  return new Stateless(
    name,
    (x) => tf.mean(x, [1, 2]),
    ([, , c]) => [c],
  );
}

/** Runs modules in order. */
export class Sequential implements Module {
  constructor(
    readonly name: string,
    readonly layers: Module[],
  ) {}
  params(): ParamSpec[] {
    return this.layers.flatMap((l) => l.params());
  }
  buffers(): BufferSpec[] {
    return this.layers.flatMap((l) => l.buffers());
  }
  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    let y = x;
    for (const layer of this.layers) y = layer.forward(y, ctx);
    return y;
  }
  trace(inShape: number[], costs: LayerCost[]): number[] {
    let shape = inShape;
    for (const layer of this.layers) shape = layer.trace(shape, costs);
    return shape;
  }
}
