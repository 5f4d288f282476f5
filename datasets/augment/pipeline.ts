/**
 * Batched, seeded augmentation: uint8 NHWC images in, float32 NHWC views out, laid out view-major
 * (all images' view 0, then view 1, ...), grouped by view spec, so a method can reshape a spec's block
 * to [views, images, ...]. Random draws follow torchvision's transforms.
 */
import type { Rng } from '../../engine/random.js';
import { makeImage, type Image } from './image.js';
import * as ops from './ops.js';
import { recipeChannels, type Recipe, type ViewSpec } from './recipes.js';

/** torchvision RandomResizedCrop.get_params: 10 tries at a random area and log-uniform ratio, then a centre crop. */
export function randomResizedCropBox(height: number, width: number, scale: [number, number], ratio: [number, number], rng: Rng) {
  const area = height * width;
  const [logLo, logHi] = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (scale[0] + (scale[1] - scale[0]) * rng.uniform());
    const aspect = Math.exp(logLo + (logHi - logLo) * rng.uniform());
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: rng.int(height - h + 1), left: rng.int(width - w + 1), height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

const uniformIn = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng.uniform();

/** One view of one image, following a spec. */
export function augmentView(image: Image, spec: ViewSpec, rng: Rng): Image {
  const box = randomResizedCropBox(image.height, image.width, spec.crop.scale, spec.crop.ratio, rng);
  let img = ops.resizedCrop(image, box.top, box.left, box.height, box.width, spec.size, spec.size);
  if (rng.uniform() < spec.flip) img = ops.hflip(img);
  const j = spec.jitter;
  if (j && rng.uniform() < j.p) {
    // ColorJitter: the four adjustments in random order, each factor drawn per image.
    const steps: ((x: Image) => Image)[] = [
      (x) => (j.brightness > 0 ? ops.brightness(x, uniformIn(rng, Math.max(0, 1 - j.brightness), 1 + j.brightness)) : x),
      (x) => (j.contrast > 0 ? ops.contrast(x, uniformIn(rng, Math.max(0, 1 - j.contrast), 1 + j.contrast)) : x),
      (x) => (j.saturation > 0 ? ops.saturation(x, uniformIn(rng, Math.max(0, 1 - j.saturation), 1 + j.saturation)) : x),
      (x) => (j.hue > 0 ? ops.hue(x, uniformIn(rng, -j.hue, j.hue)) : x),
    ];
    for (let i = steps.length - 1; i > 0; i--) {
      const k = rng.int(i + 1);
      [steps[i], steps[k]] = [steps[k], steps[i]];
    }
    for (const step of steps) img = step(img);
  }
  if (rng.uniform() < spec.grayscale) img = ops.grayscale(img);
  if (spec.blur && rng.uniform() < spec.blur.p)
    img = ops.gaussianBlur(img, spec.blur.kernel, uniformIn(rng, spec.blur.sigma[0], spec.blur.sigma[1]));
  if (rng.uniform() < spec.solarize) img = ops.solarize(img, 0.5);
  return ops.normalize(img, spec.normalize.mean, spec.normalize.std);
}

export interface AugmentedBatch {
  /** One block per view spec: [count * images, size, size, channels] float32, view-major. */
  views: { spec: ViewSpec; shape: [number, number, number, number]; data: Float32Array }[];
  crops: number;
}

/**
 * Augments `count` uint8 NHWC images of `height` x `width` with `recipe`. The images have as many channels
 * as the recipe normalises (3, or 1 for grey images: see adaptRecipe in recipes.ts).
 */
export function augmentBatch(images: Uint8Array, count: number, height: number, width: number, recipe: Recipe, rng: Rng): AugmentedBatch {
  const channels = recipeChannels(recipe);
  if (images.length !== count * height * width * channels) {
    throw new Error(`augmentBatch: ${images.length} bytes is not ${count} images of ${height}x${width}x${channels}`);
  }
  const decoded: Image[] = [];
  for (let i = 0; i < count; i++) {
    const img = makeImage(height, width, channels);
    const base = i * height * width * channels;
    for (let p = 0; p < img.data.length; p++) img.data[p] = images[base + p] / 255;
    decoded.push(img);
  }
  const views = recipe.views.map((spec) => {
    const plane = spec.size * spec.size * channels;
    const data = new Float32Array(spec.count * count * plane);
    for (let v = 0; v < spec.count; v++) {
      for (let i = 0; i < count; i++) data.set(augmentView(decoded[i], spec, rng).data, (v * count + i) * plane);
    }
    return { spec, shape: [spec.count * count, spec.size, spec.size, channels] as [number, number, number, number], data };
  });
  return { views, crops: views.reduce((s, v) => s + v.shape[0], 0) };
}
