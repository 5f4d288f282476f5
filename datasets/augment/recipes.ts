/**
 * Augmentation recipes as data: each method's views (how many, what size, which random transforms).
 * A recipe with several view specs is a multi-crop recipe (e.g. SwAV's 2 x 32 + 6 x 18).
 */

export interface ViewSpec {
  /** Crops drawn per image with this spec. */
  count: number;
  /** Output side in pixels. */
  size: number;
  /** Random resized crop: area fraction and aspect-ratio ranges (torchvision RandomResizedCrop). */
  crop: { scale: [number, number]; ratio: [number, number] };
  /** Probability of a horizontal flip. */
  flip: number;
  /** Colour jitter strengths (torchvision ColorJitter, random order), applied with probability p. */
  jitter: { brightness: number; contrast: number; saturation: number; hue: number; p: number } | null;
  grayscale: number;
  /** Gaussian blur with probability p, sigma drawn uniformly from the range. */
  blur: { p: number; kernel: number; sigma: [number, number] } | null;
  solarize: number;
  /** Per-channel mean and std (three for RGB, one for grey images); all view specs of a recipe have the same count. */
  normalize: { mean: number[]; std: number[] };
}

export interface Recipe {
  name: string;
  source: string;
  views: ViewSpec[];
}

const HALF = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } as ViewSpec['normalize'];
const CIFAR_STATS = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] } as ViewSpec['normalize'];

/**
 * EMP-SSL's CIFAR patches (official code): fixed-area square patches (scale 0.25, ratio 1) upsampled to
 * 32, flip 0.5, jitter 0.4/0.4/0.4/0.2 with p 0.8, grayscale 0.2, blur 0.1, solarize 0.1, normalise 0.5/0.5.
 */
export function empSslPatches(patches = 20, size = 32): Recipe {
  return {
    name: `emp-ssl-${patches}-patches`,
    source: 'EMP-SSL official code, CIFAR',
    views: [
      {
        count: patches,
        size,
        crop: { scale: [0.25, 0.25], ratio: [1, 1] },
        flip: 0.5,
        jitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.2, p: 0.8 },
        grayscale: 0.2,
        blur: { p: 0.1, kernel: 3, sigma: [0.1, 2.0] },
        solarize: 0.1,
        normalize: HALF,
      },
    ],
  };
}

/** solo-learn's view groups for CIFAR (scripts/pretrain/cifar/augmentations/*.yaml, transcribed in ../shared/reference/baselines.json). */
export interface SoloViewOptions {
  /** Crop area fraction range. Default 0.08-1. */
  minScale?: number;
  maxScale?: number;
  /** Colour jitter brightness/contrast/saturation/hue, p 0.8. Default 0.4/0.4/0.2/0.1. */
  jitter?: [number, number, number, number];
  /** Gaussian blur probability (sigma 0.1-2). Default 0. */
  blur?: number;
  solarize?: number;
}

function soloView(count: number, size: number, o: SoloViewOptions = {}): ViewSpec {
  const [brightness, contrast, saturation, hue] = o.jitter ?? [0.4, 0.4, 0.2, 0.1];
  return {
    count,
    size,
    crop: { scale: [o.minScale ?? 0.08, o.maxScale ?? 1], ratio: [3 / 4, 4 / 3] },
    flip: 0.5,
    jitter: { brightness, contrast, saturation, hue, p: 0.8 },
    grayscale: 0.2,
    // PIL's GaussianBlur(radius = sigma) in solo-learn; 9 taps cover +-2 sigma at the largest sigma.
    blur: o.blur ? { p: o.blur, kernel: 9, sigma: [0.1, 2.0] } : null,
    solarize: o.solarize ?? 0,
    normalize: CIFAR_STATS,
  };
}

/** One solo-learn view group drawn `count` times (the supervised and random-init rows use it with defaults). */
export function soloLearnCifar(count = 2, size = 32, options: SoloViewOptions = {}): Recipe {
  return { name: `solo-cifar-${count}-views`, source: 'solo-learn scripts/pretrain/cifar/*.yaml', views: [soloView(count, size, options)] };
}

/** solo-learn's symmetric.yaml (SimCLR, SwAV without multi-crop): jitter 0.8/0.8/0.8/0.2, blur 0.5. */
export function soloSymmetric(count = 2): Recipe {
  return { ...soloLearnCifar(count, 32, { jitter: [0.8, 0.8, 0.8, 0.2], blur: 0.5 }), name: `solo-symmetric-${count}-views` };
}

/** solo-learn's asymmetric.yaml (BYOL, Barlow Twins): two groups alike but for solarisation 0.2 on the second. */
export function soloAsymmetric(): Recipe {
  return {
    name: 'solo-asymmetric-2-views',
    source: 'solo-learn scripts/pretrain/cifar/augmentations/asymmetric.yaml',
    views: [soloView(1, 32), soloView(1, 32, { solarize: 0.2 })],
  };
}

/** solo-learn's vicreg.yaml augmentations: crop scale 0.2-1, solarisation 0.1. */
export function soloVicReg(count = 2): Recipe {
  return { ...soloLearnCifar(count, 32, { minScale: 0.2, solarize: 0.1 }), name: `solo-vicreg-${count}-views` };
}

/**
 * SwAV multi-crop for CIFAR (solo-learn scripts/pretrain/cifar-multicrop/augmentations/swav.yaml): two 32-pixel
 * crops (scale 0.2-1, jitter 0.6/0.6/0.6/0.2, the second solarised with p 0.2) and six 18-pixel crops (scale
 * 0.08-0.5, jitter 0.8/0.8/0.8/0.2, blur 0.1, solarise 0.1).
 */
export function swavMultiCrop(): Recipe {
  const large: SoloViewOptions = { minScale: 0.2, jitter: [0.6, 0.6, 0.6, 0.2] };
  const small = soloView(6, 18, { maxScale: 0.5, jitter: [0.8, 0.8, 0.8, 0.2], blur: 0.1, solarize: 0.1 });
  return {
    name: 'swav-multicrop-2x32-6x18',
    source: 'solo-learn scripts/pretrain/cifar-multicrop/augmentations/swav.yaml',
    views: [soloView(1, 32, large), soloView(1, 32, { ...large, solarize: 0.2 }), small],
  };
}

/** Channels the recipe's views have (the length of its normalisation). */
export function recipeChannels(recipe: Recipe): number {
  return recipe.views[0].normalize.mean.length;
}

/**
 * A CIFAR-sized RGB recipe (32-pixel views) adapted to images of side `imageSide` with `channels` channels.
 * Every view side scales by imageSide / 32 (Tiny-ImageNet: 64 and 36 for SwAV's 32 and 18; Fashion-MNIST:
 * 28 and 16). For grey images (one channel) the normalisation becomes the mean of the recipe's three
 * channel values, and saturation, hue and grayscale do nothing (torchvision's behaviour on one channel):
 * views then differ by crop, flip, brightness, contrast, blur and solarisation. The other random
 * transforms are unchanged.
 */
export function adaptRecipe(recipe: Recipe, imageSide: number, channels = 3): Recipe {
  if (channels !== 1 && channels !== 3) throw new Error(`images must have 1 or 3 channels, got ${channels}`);
  if (imageSide === 32 && channels === recipeChannels(recipe)) return recipe;
  const f = imageSide / 32;
  const average = (xs: number[]) => [xs.reduce((a, b) => a + b, 0) / xs.length];
  const grey = channels === 1 && recipeChannels(recipe) !== 1;
  return {
    ...recipe,
    name: `${recipe.name}@${imageSide}px${grey ? '-grey' : ''}`,
    views: recipe.views.map((v) => ({
      ...v,
      size: Math.max(8, Math.round(v.size * f)),
      normalize: grey ? { mean: average(v.normalize.mean), std: average(v.normalize.std) } : v.normalize,
    })),
  };
}
