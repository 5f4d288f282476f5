import { describe, expect, it } from 'vitest';
import { fromCHW, toCHW, type Image } from '../datasets/augment/image.js';
import * as ops from '../datasets/augment/ops.js';
import { readFixture } from './requirements.js';

interface Tensor {
  shape: number[];
  data: number[];
}
interface Case {
  op: string;
  params: Record<string, unknown>;
  expected: Tensor;
}
const reference = readFixture<{ image: Tensor; cases: Case[] }>('augment.json');

type P = Record<string, unknown>;
const apply: Record<string, (img: Image, p: P) => Image> = {
  brightness: (img, p) => ops.brightness(img, p.factor as number),
  contrast: (img, p) => ops.contrast(img, p.factor as number),
  saturation: (img, p) => ops.saturation(img, p.factor as number),
  hue: (img, p) => ops.hue(img, p.factor as number),
  grayscale: (img) => ops.grayscale(img),
  solarize: (img, p) => ops.solarize(img, p.threshold as number),
  gaussian_blur: (img, p) => ops.gaussianBlur(img, p.kernel_size as number, p.sigma as number),
  hflip: (img) => ops.hflip(img),
  resized_crop: (img, p) => {
    expect(p.interpolation).toBe('bilinear');
    expect(p.antialias).toBe(false);
    const [oh, ow] = p.size as number[];
    return ops.resizedCrop(img, p.top as number, p.left as number, p.height as number, p.width as number, oh, ow);
  },
  normalize: (img, p) => ops.normalize(img, p.mean as number[], p.std as number[]),
};

describe("augmentation ops reproduce torchvision's functional transforms", () => {
  const image = fromCHW(reference.image.data, reference.image.shape);

  it('round-trips CHW <-> HWC', () => {
    expect(Array.from(toCHW(image))).toEqual(reference.image.data.map((v) => Math.fround(v)));
  });

  it.each(reference.cases.map((c) => [`${c.op} ${JSON.stringify(c.params)}`, c] as const))('%s', (_, c) => {
    const op = apply[c.op];
    expect(op, `no implementation for ${c.op}`).toBeDefined();
    const out = op(image, c.params);
    expect([out.channels, out.height, out.width]).toEqual(c.expected.shape);
    const got = toCHW(out);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - c.expected.data[i]));
    expect(worst).toBeLessThan(1e-5);
  });

  it('rejects bad parameters', () => {
    expect(() => ops.hue(image, 0.7)).toThrow(/hue factor/);
    expect(() => ops.gaussianBlur(image, 4, 1)).toThrow(/odd/);
    expect(() => ops.resizedCrop(image, 10, 0, 8, 8, 4, 4)).toThrow(/does not fit a 12x16 image/);
  });
});
