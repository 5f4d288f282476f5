/**
 * ResNets as in torchvision (v1.5: stride on the 3x3 conv of bottlenecks), without the classifier.
 * Stems: `imagenet` (7x7 stride-2 conv, 3x3 stride-2 max-pool) and `cifar` (3x3 stride-1 conv, no pool),
 * the variant used by solo-learn and EMP-SSL for 32x32 and 64x64 images.
 */
import * as tf from '../tf.js';
import { BatchNorm, Conv2d, globalAvgPool, maxPool, relu, Sequential } from './layers.js';
import { joinName, type BufferSpec, type ForwardContext, type LayerCost, type Module, type ParamSpec } from './module.js';

export type Stem = 'cifar' | 'imagenet';

/** Residual block: relu(branch(x) + shortcut(x)), the shortcut a 1x1 conv + BN when shapes change. */
class ResidualBlock implements Module {
  constructor(
    readonly name: string,
    private readonly branch: Sequential,
    private readonly downsample: Sequential | null,
  ) {}
  params(): ParamSpec[] {
    return [...this.branch.params(), ...(this.downsample?.params() ?? [])];
  }
  buffers(): BufferSpec[] {
    return [...this.branch.buffers(), ...(this.downsample?.buffers() ?? [])];
  }
  forward(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const shortcut = this.downsample ? this.downsample.forward(x, ctx) : x;
    return tf.relu(tf.add(this.branch.forward(x, ctx), shortcut));
  }
  trace(inShape: number[], costs: LayerCost[]): number[] {
    const out = this.branch.trace(inShape, costs);
    if (this.downsample) this.downsample.trace(inShape, costs);
    return out;
  }
}

function shortcut(name: string, cin: number, cout: number, stride: number): Sequential | null {
  if (stride === 1 && cin === cout) return null;
  const ds = joinName(name, 'downsample');
  return new Sequential(ds, [new Conv2d(joinName(ds, '0'), cin, cout, 1, stride, 0), new BatchNorm(joinName(ds, '1'), cout)]);
}

function basicBlock(name: string, cin: number, width: number, stride: number): [Module, number] {
  const n = (s: string) => joinName(name, s);
  const branch = new Sequential(name, [
    new Conv2d(n('conv1'), cin, width, 3, stride, 1),
    new BatchNorm(n('bn1'), width),
    relu(),
    new Conv2d(n('conv2'), width, width, 3, 1, 1),
    new BatchNorm(n('bn2'), width),
  ]);
  return [new ResidualBlock(name, branch, shortcut(name, cin, width, stride)), width];
}

function bottleneck(name: string, cin: number, width: number, stride: number): [Module, number] {
  const n = (s: string) => joinName(name, s);
  const cout = width * 4;
  const branch = new Sequential(name, [
    new Conv2d(n('conv1'), cin, width, 1, 1, 0),
    new BatchNorm(n('bn1'), width),
    relu(),
    new Conv2d(n('conv2'), width, width, 3, stride, 1),
    new BatchNorm(n('bn2'), width),
    relu(),
    new Conv2d(n('conv3'), width, cout, 1, 1, 0),
    new BatchNorm(n('bn3'), cout),
  ]);
  return [new ResidualBlock(name, branch, shortcut(name, cin, cout, stride)), cout];
}

export interface ResNetConfig {
  block: 'basic' | 'bottleneck';
  /** Blocks per stage. */
  layers: number[];
  /** Width of each stage (the bottleneck's inner width). */
  widths: number[];
  stem: Stem;
  inChannels?: number;
}

export interface Backbone extends Module {
  /** Size of the pooled feature vector. */
  readonly featureDim: number;
  /** Channels of the input images. */
  readonly inChannels: number;
}

export class ResNet extends Sequential implements Backbone {
  readonly featureDim: number;
  readonly inChannels: number;
  constructor(config: ResNetConfig) {
    const stemWidth = config.widths[0];
    const inChannels = config.inChannels ?? 3;
    const stem: Module[] =
      config.stem === 'imagenet'
        ? [new Conv2d('conv1', inChannels, stemWidth, 7, 2, 3), new BatchNorm('bn1', stemWidth), relu(), maxPool('maxpool', 3, 2, 1)]
        : [new Conv2d('conv1', inChannels, stemWidth, 3, 1, 1), new BatchNorm('bn1', stemWidth), relu()];
    const makeBlock = config.block === 'basic' ? basicBlock : bottleneck;
    const stages: Module[] = [];
    let channels = stemWidth;
    config.layers.forEach((count, stage) => {
      const blocks: Module[] = [];
      for (let i = 0; i < count; i++) {
        const stride = stage > 0 && i === 0 ? 2 : 1;
        const [block, out] = makeBlock(`layer${stage + 1}.${i}`, channels, config.widths[stage], stride);
        blocks.push(block);
        channels = out;
      }
      stages.push(new Sequential(`layer${stage + 1}`, blocks));
    });
    super('', [...stem, ...stages, globalAvgPool()]);
    this.featureDim = channels;
    this.inChannels = inChannels;
  }
}

const WIDTHS = [64, 128, 256, 512];

export const BACKBONES = {
  resnet18: (stem: Stem, inChannels: number) => new ResNet({ block: 'basic', layers: [2, 2, 2, 2], widths: WIDTHS, stem, inChannels }),
  resnet50: (stem: Stem, inChannels: number) => new ResNet({ block: 'bottleneck', layers: [3, 4, 6, 3], widths: WIDTHS, stem, inChannels }),
  /** Small ResNet for tests and the built-in synthetic default: one basic block per stage, 1/4 width. */
  'resnet-small': (stem: Stem, inChannels: number) =>
    new ResNet({ block: 'basic', layers: [1, 1, 1, 1], widths: [16, 32, 64, 128], stem, inChannels }),
} as const;

export type BackboneName = keyof typeof BACKBONES;

/**
 * Parses "resnet18", "resnet18-cifar", "resnet50-imagenet", "resnet-small". Default stem: cifar. The stem
 * takes `inChannels` input channels (1 for grey images: a one-channel stem, not a copy to three).
 */
export function makeBackbone(spec: string, inChannels = 3): Backbone {
  const match = /^(resnet18|resnet50|resnet-small)(?:-(cifar|imagenet))?$/.exec(spec);
  if (!match) {
    const valid = Object.keys(BACKBONES).flatMap((b) => [b, `${b}-cifar`, `${b}-imagenet`]);
    throw new Error(`unknown backbone "${spec}"; valid: ${valid.join(', ')}`);
  }
  return BACKBONES[match[1] as BackboneName]((match[2] as Stem | undefined) ?? 'cifar', inChannels);
}
