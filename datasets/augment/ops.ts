/**
 * Image operations with torchvision 0.14's semantics for float tensors in [0, 1]
 * (torchvision.transforms.functional_tensor), on HWC images. Each is a pure function; randomness lives in
 * the recipes that call them. Verified against ../shared/reference/augment.json (test/augment_ops.test.ts).
 */
import { makeImage, type Image } from './image.js';

const clamp01 = (v: number) => Math.min(Math.max(v, 0), 1);

/** ITU-R 601-2 luma with torchvision's weights. */
const lumaOf = (r: number, g: number, b: number) => 0.2989 * r + 0.587 * g + 0.114 * b;

function mapPixels(img: Image, f: (r: number, g: number, b: number, out: Float32Array, at: number) => void): Image {
  if (img.channels !== 3) throw new Error(`expected an RGB image, got ${img.channels} channels`);
  const out = makeImage(img.height, img.width, 3);
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) f(d[i], d[i + 1], d[i + 2], out.data, i);
  return out;
}

/** torchvision's _blend: clamp(factor * img + (1 - factor) * other). */
function blend(img: Image, other: (i: number) => number, factor: number): Image {
  const out = makeImage(img.height, img.width, img.channels);
  for (let i = 0; i < img.data.length; i++) out.data[i] = clamp01(factor * img.data[i] + (1 - factor) * other(i));
  return out;
}

export function brightness(img: Image, factor: number): Image {
  return blend(img, () => 0, factor);
}

/** Blends with the mean luma of the whole image (of a one-channel image: its mean). */
export function contrast(img: Image, factor: number): Image {
  const d = img.data;
  let sum = 0;
  if (img.channels === 1) for (const v of d) sum += v;
  else for (let i = 0; i < d.length; i += 3) sum += lumaOf(d[i], d[i + 1], d[i + 2]);
  const mean = sum / (img.height * img.width);
  return blend(img, () => mean, factor);
}

/** Blends with the per-pixel luma. A one-channel image is returned as it is (torchvision's behaviour). */
export function saturation(img: Image, factor: number): Image {
  if (img.channels === 1) return img;
  const d = img.data;
  return blend(
    img,
    (i) => {
      const p = i - (i % 3);
      return lumaOf(d[p], d[p + 1], d[p + 2]);
    },
    factor,
  );
}

/** Grayscale with three equal channels (RandomGrayscale's output for RGB input); one channel stays as it is. */
export function grayscale(img: Image): Image {
  if (img.channels === 1) return img;
  return mapPixels(img, (r, g, b, out, at) => {
    const l = lumaOf(r, g, b);
    out[at] = l;
    out[at + 1] = l;
    out[at + 2] = l;
  });
}

/** Rotates hue by `factor` turns (in [-0.5, 0.5]), through torchvision's RGB <-> HSV conversion; one channel stays as it is. */
export function hue(img: Image, factor: number): Image {
  if (!(factor >= -0.5 && factor <= 0.5)) throw new Error(`hue factor must be in [-0.5, 0.5], got ${factor}`);
  if (img.channels === 1) return img;
  return mapPixels(img, (r, g, b, out, at) => {
    // _rgb2hsv
    const maxc = Math.max(r, g, b);
    const minc = Math.min(r, g, b);
    const equal = maxc === minc;
    const cr = maxc - minc;
    const s = cr / (equal ? 1 : maxc);
    const div = equal ? 1 : cr;
    const rc = (maxc - r) / div;
    const gc = (maxc - g) / div;
    const bc = (maxc - b) / div;
    let h: number;
    if (maxc === r) h = bc - gc;
    else if (maxc === g) h = 2 + rc - bc;
    else h = 4 + gc - rc;
    h = (h / 6 + 1) % 1; // torch.fmod of a positive number
    // shift: Python's % (remainder with the divisor's sign)
    h = (((h + factor) % 1) + 1) % 1;
    // _hsv2rgb
    const v = maxc;
    const i6 = Math.floor(h * 6);
    const f = h * 6 - i6;
    const p = clamp01(v * (1 - s));
    const q = clamp01(v * (1 - s * f));
    const t = clamp01(v * (1 - s * (1 - f)));
    // The sector's (r, g, b) from (v, t, p, q), without building a table per pixel.
    const sector = ((i6 % 6) + 6) % 6;
    out[at] = sector === 0 || sector === 5 ? v : sector === 1 ? q : sector === 4 ? t : p;
    out[at + 1] = sector === 1 || sector === 2 ? v : sector === 0 ? t : sector === 3 ? q : p;
    out[at + 2] = sector === 3 || sector === 4 ? v : sector === 2 ? t : sector === 5 ? q : p;
  });
}

/** Inverts values at or above the threshold. */
export function solarize(img: Image, threshold: number): Image {
  const out = makeImage(img.height, img.width, img.channels);
  for (let i = 0; i < img.data.length; i++) {
    const v = img.data[i];
    out.data[i] = v >= threshold ? 1 - v : v;
  }
  return out;
}

export function hflip(img: Image): Image {
  const { height, width, channels } = img;
  const out = makeImage(height, width, channels);
  // Plain loops: a subarray per pixel allocates a view each time, several times the cost of the copy.
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (y * width + (width - 1 - x)) * channels;
      const to = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) out.data[to + c] = img.data[from + c];
    }
  }
  return out;
}

/** torchvision's _get_gaussian_kernel1d. */
export function gaussianKernel1d(size: number, sigma: number): Float64Array {
  if (size % 2 !== 1 || size < 1) throw new Error(`blur kernel size must be odd and positive, got ${size}`);
  if (!(sigma > 0)) throw new Error(`blur sigma must be positive, got ${sigma}`);
  const half = (size - 1) / 2;
  const k = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = -half + i;
    k[i] = Math.exp(-0.5 * (x / sigma) ** 2);
    sum += k[i];
  }
  return k.map((v) => v / sum);
}

/** Reflect padding index (PyTorch's "reflect": the edge pixel is not repeated). */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

/** Separable Gaussian blur with reflection padding (the 2-D kernel is the outer product). */
export function gaussianBlur(img: Image, size: number, sigma: number): Image {
  const k = gaussianKernel1d(size, sigma);
  const half = (size - 1) / 2;
  const { height, width, channels } = img;
  const tmp = new Float64Array(img.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let t = 0; t < size; t++) acc += k[t] * img.data[(y * width + reflect(x + t - half, width)) * channels + c];
        tmp[(y * width + x) * channels + c] = acc;
      }
    }
  }
  const out = makeImage(height, width, channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let t = 0; t < size; t++) acc += k[t] * tmp[(reflect(y + t - half, height) * width + x) * channels + c];
        out.data[(y * width + x) * channels + c] = acc;
      }
    }
  }
  return out;
}

/** PyTorch's bilinear source coordinate (align_corners=False), clamped at 0 as area_pixel_compute_source_index does. */
function sourceIndex(dst: number, scale: number): number {
  return Math.max(scale * (dst + 0.5) - 0.5, 0);
}

/**
 * Crops rows [top, top + height) and columns [left, left + width), then resizes to outHeight x outWidth
 * bilinearly without antialiasing (F.resized_crop with antialias=False). Out-of-range crops are errors.
 */
export function resizedCrop(
  img: Image,
  top: number,
  left: number,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
): Image {
  if (top < 0 || left < 0 || top + height > img.height || left + width > img.width || height < 1 || width < 1) {
    throw new Error(`crop ${height}x${width} at (${top}, ${left}) does not fit a ${img.height}x${img.width} image`);
  }
  const { channels } = img;
  const src = img.data;
  const out = makeImage(outHeight, outWidth, channels);
  const sy = height / outHeight;
  const sx = width / outWidth;
  // Indices computed inline, no closure per pixel: under tsx every closure created is also named
  // (esbuild's keepNames), which made a per-pixel helper most of an augmentation's time.
  for (let y = 0; y < outHeight; y++) {
    const fy = sourceIndex(y, sy);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, height - 1);
    const wy = fy - y0;
    const row0 = (top + y0) * img.width + left;
    const row1 = (top + y1) * img.width + left;
    for (let x = 0; x < outWidth; x++) {
      const fx = sourceIndex(x, sx);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, width - 1);
      const wx = fx - x0;
      for (let c = 0; c < channels; c++) {
        const a = src[(row0 + x0) * channels + c];
        const b = src[(row0 + x1) * channels + c];
        const d = src[(row1 + x0) * channels + c];
        const e = src[(row1 + x1) * channels + c];
        out.data[(y * outWidth + x) * channels + c] = (1 - wy) * ((1 - wx) * a + wx * b) + wy * ((1 - wx) * d + wx * e);
      }
    }
  }
  return out;
}

/** (x - mean[c]) / std[c]. */
export function normalize(img: Image, mean: number[], std: number[]): Image {
  if (mean.length !== img.channels || std.length !== img.channels) throw new Error(`normalize needs ${img.channels} means and stds`);
  const out = makeImage(img.height, img.width, img.channels);
  for (let i = 0; i < img.data.length; i++) {
    const c = i % img.channels;
    out.data[i] = (img.data[i] - mean[c]) / std[c];
  }
  return out;
}
