/**
 * Packed uint8 caches of decoded JPEG datasets: each split is `images.bin` (N x R x R x 3 bytes, NHWC),
 * `labels.bin` (N int32, little-endian) and `meta.json`, read back by file offset so a cache larger than
 * RAM (ImageNet-100 at 224: ~19 GB) costs only the batch being read.
 *
 * Decoding uses sharp (libvips): the shorter side is resized to R and the centre R x R kept, as
 * torchvision's Resize(R) + CenterCrop(R). A cache is built in a temporary folder and renamed into place.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { DatasetError, type Split } from './types.js';

export interface CacheEntry {
  file: string;
  label: number;
}

interface CacheMeta {
  count: number;
  resolution: number;
  classes: number;
}

/** Decodes one image to R x R x 3 bytes. */
export async function decodeSquare(file: string, resolution: number): Promise<Buffer> {
  try {
    const { data, info } = await sharp(file, { failOn: 'error' })
      .resize(resolution, resolution, { fit: 'cover', position: 'centre' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== resolution * resolution * 3)
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}`);
    return data;
  } catch (e) {
    throw new DatasetError(`cannot decode ${file}: ${(e as Error).message.split('\n')[0]} (corrupt or not an image?)`);
  }
}

/**
 * Decodes `entries` into a cache folder `dir` (replacing nothing until complete). Runs a few decodes at a
 * time (libvips uses its own threads); reports progress as (done, total).
 */
export async function buildCache(
  entries: CacheEntry[],
  dir: string,
  resolution: number,
  classes: number,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  if (entries.length === 0) throw new DatasetError(`no images to cache for ${dir}`);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  try {
    const bytes = resolution * resolution * 3;
    const fd = fs.openSync(path.join(tmp, 'images.bin'), 'w');
    try {
      let next = 0;
      let done = 0;
      const worker = async () => {
        while (next < entries.length) {
          const i = next++;
          const pixels = await decodeSquare(entries[i].file, resolution);
          fs.writeSync(fd, pixels, 0, bytes, i * bytes);
          onProgress?.(++done, entries.length);
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
    } finally {
      fs.closeSync(fd);
    }
    const labels = Int32Array.from(entries.map((e) => e.label));
    fs.writeFileSync(path.join(tmp, 'labels.bin'), Buffer.from(labels.buffer));
    const meta: CacheMeta = { count: entries.length, resolution, classes };
    fs.writeFileSync(path.join(tmp, 'meta.json'), `${JSON.stringify(meta)}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

export function cacheExists(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'meta.json'));
}

/** A split read from a cache folder. */
export class CacheSplit implements Split {
  readonly size: number;
  readonly labels: Int32Array;
  readonly resolution: number;
  private readonly imageBytes: number;
  private readonly file: string;

  constructor(dir: string) {
    const metaFile = path.join(dir, 'meta.json');
    if (!fs.existsSync(metaFile)) throw new DatasetError(`missing ${metaFile}: the cache was never built or was removed`);
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as CacheMeta;
    this.size = meta.count;
    this.resolution = meta.resolution;
    this.imageBytes = meta.resolution * meta.resolution * 3;
    this.file = path.join(dir, 'images.bin');
    const expected = this.size * this.imageBytes;
    const actual = fs.existsSync(this.file) ? fs.statSync(this.file).size : -1;
    if (actual !== expected) throw new DatasetError(`${this.file} is ${actual} bytes, expected ${expected}: delete ${dir} to rebuild it`);
    const raw = fs.readFileSync(path.join(dir, 'labels.bin'));
    if (raw.length !== this.size * 4)
      throw new DatasetError(`${path.join(dir, 'labels.bin')} holds ${raw.length / 4} labels, expected ${this.size}`);
    this.labels = new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  }

  readImages(indices: ArrayLike<number>): Uint8Array {
    const out = new Uint8Array(indices.length * this.imageBytes);
    const fd = fs.openSync(this.file, 'r');
    try {
      for (let k = 0; k < indices.length; k++) {
        const i = indices[k];
        if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new RangeError(`image index ${i} outside 0..${this.size - 1}`);
        fs.readSync(fd, out, k * this.imageBytes, this.imageBytes, i * this.imageBytes);
      }
    } finally {
      fs.closeSync(fd);
    }
    return out;
  }
}
