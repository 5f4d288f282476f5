/**
 * IDX files, the format of MNIST and Fashion-MNIST (and of the synthetic set's plain files):
 *   big-endian uint32 magic 0x00000803 (uint8, 3 dimensions) for images [n, rows, cols], row-major;
 *   0x00000801 (uint8, 1 dimension) for labels [n]; then one uint32 per dimension, then the bytes.
 * A file named `.gz` is gunzipped once at load and kept in memory (Fashion-MNIST's train images are 47 MB);
 * a plain file's labels are read at load and its images by file offset, as the CIFAR reader does, so a
 * large plain copy never has to fit in RAM.
 * Every problem with a file is a DatasetError that names the file and says how to get a good copy.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DatasetError, type Dataset, type Split } from './types.js';

export type IdxKind = 'images' | 'labels';

const MAGIC: Record<IdxKind, number> = { images: 0x00000803, labels: 0x00000801 };
const DIMENSIONS: Record<IdxKind, number> = { images: 3, labels: 1 };
const DEFAULT_FIX = 'write or fetch the dataset again';

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/** Why a file whose magic number is not the expected one might be so, for the error message. */
function magicHint(found: number, kind: IdxKind, gzipped: boolean): string {
  const other: IdxKind = kind === 'images' ? 'labels' : 'images';
  if (found === MAGIC[other]) return `it is an IDX ${other} file: are the image and label files swapped?`;
  if (!gzipped && found >>> 16 === 0x1f8b) return 'it is gzip-compressed: name it .gz';
  return 'not an IDX uint8 file';
}

interface Header {
  shape: number[];
  /** Bytes before the data: the magic number and one uint32 per dimension. */
  headerBytes: number;
}

/** Checks the magic number and that the file holds exactly the bytes its header promises. */
function parseHeader(file: string, kind: IdxKind, head: Uint8Array, totalBytes: number, gzipped: boolean, fix: string): Header {
  const headerBytes = 4 + 4 * DIMENSIONS[kind];
  const what = gzipped ? 'decompressed bytes' : 'bytes';
  if (totalBytes < 4) throw new DatasetError(`${file} is ${totalBytes} ${what}, too short for an IDX header (truncated?): ${fix}`);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const magic = view.getUint32(0);
  if (magic !== MAGIC[kind])
    throw new DatasetError(
      `${file} has magic number ${hex(magic)}, expected ${hex(MAGIC[kind])} (IDX uint8 ${kind}, ${DIMENSIONS[kind]} dimension${DIMENSIONS[kind] > 1 ? 's' : ''}); ${magicHint(magic, kind, gzipped)}: ${fix}`,
    );
  if (totalBytes < headerBytes)
    throw new DatasetError(`${file} is ${totalBytes} ${what}, shorter than its ${headerBytes}-byte IDX header (truncated): ${fix}`);
  const shape = Array.from({ length: DIMENSIONS[kind] }, (_, d) => view.getUint32(4 + 4 * d));
  const promised = shape.reduce((a, b) => a * b, 1);
  const held = totalBytes - headerBytes;
  if (held < promised)
    throw new DatasetError(
      `${file} is truncated: its header promises ${shape.join(' x ')} = ${promised} data bytes, it holds ${held} ${what}: ${fix}`,
    );
  if (held > promised)
    throw new DatasetError(
      `${file} holds ${held} data ${what}, ${held - promised} more than its header promises (${shape.join(' x ')}): not a file of this dataset? ${fix}`,
    );
  return { shape, headerBytes };
}

function checkExists(file: string, fix: string): void {
  if (!fs.existsSync(file)) throw new DatasetError(`missing ${file}: ${fix}`);
}

function gunzip(file: string, fix: string): Buffer {
  try {
    return gunzipSync(fs.readFileSync(file));
  } catch (e) {
    throw new DatasetError(`${file} cannot be decompressed (${(e as Error).message}; truncated or not gzip?): ${fix}`);
  }
}

/** An IDX file's shape and data; `data` is the whole payload (after the header). */
export interface IdxContent {
  shape: number[];
  data: Uint8Array;
}

/** Reads and checks a whole IDX file (gunzipped when its name ends in .gz). */
export function readIdx(file: string, kind: IdxKind, fix = DEFAULT_FIX): IdxContent {
  checkExists(file, fix);
  const gzipped = file.endsWith('.gz');
  const bytes = gzipped ? gunzip(file, fix) : fs.readFileSync(file);
  const { shape, headerBytes } = parseHeader(file, kind, bytes, bytes.length, gzipped, fix);
  return { shape, data: bytes.subarray(headerBytes) };
}

/** Where a split's pixels are: in memory (a gunzipped file) or at an offset of a plain file. */
type Pixels = { memory: Uint8Array } | { file: string; offset: number };

function openImages(file: string, fix: string): { shape: number[]; pixels: Pixels } {
  if (file.endsWith('.gz')) {
    const { shape, data } = readIdx(file, 'images', fix);
    return { shape, pixels: { memory: data } };
  }
  checkExists(file, fix);
  const head = new Uint8Array(4 + 4 * DIMENSIONS.images);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const { shape, headerBytes } = parseHeader(file, 'images', head, fs.statSync(file).size, false, fix);
  return { shape, pixels: { file, offset: headerBytes } };
}

/** The image and label files of one split. */
export interface IdxSplitFiles {
  images: string;
  labels: string;
}

class IdxSplit implements Split {
  readonly size: number;
  readonly labels: Int32Array;
  readonly rows: number;
  readonly cols: number;
  private readonly pixels: Pixels;

  constructor(files: IdxSplitFiles, classes: number, fix: string) {
    const images = openImages(files.images, fix);
    const labels = readIdx(files.labels, 'labels', fix);
    const [n, rows, cols] = images.shape;
    if (labels.shape[0] !== n)
      throw new DatasetError(
        `${files.images} holds ${n} images but ${files.labels} holds ${labels.shape[0]} labels: the two files are not from one copy; ${fix}`,
      );
    this.labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const label = labels.data[i];
      if (label >= classes) throw new DatasetError(`${files.labels}: label ${label} at index ${i}, expected 0..${classes - 1}: ${fix}`);
      this.labels[i] = label;
    }
    this.size = n;
    this.rows = rows;
    this.cols = cols;
    this.pixels = images.pixels;
  }

  readImages(indices: ArrayLike<number>): Uint8Array {
    const bytes = this.rows * this.cols;
    const out = new Uint8Array(indices.length * bytes);
    const pixels = this.pixels;
    const fd = 'file' in pixels && indices.length > 0 ? fs.openSync(pixels.file, 'r') : -1;
    try {
      for (let k = 0; k < indices.length; k++) {
        const index = indices[k];
        if (!Number.isInteger(index) || index < 0 || index >= this.size)
          throw new RangeError(`image index ${index} outside 0..${this.size - 1}`);
        if ('memory' in pixels) out.set(pixels.memory.subarray(index * bytes, (index + 1) * bytes), k * bytes);
        else fs.readSync(fd, out, k * bytes, bytes, pixels.offset + index * bytes);
      }
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
    return out;
  }
}

export interface IdxDatasetSpec {
  name: string;
  classes: string[];
  train: IdxSplitFiles;
  test: IdxSplitFiles;
  /** How to get a good copy, said in every error about a file (e.g. "run npm run data -- fetch X"). */
  fix?: string;
}

/** A grey-scale dataset from IDX image and label files: images [rows, cols, 1], NHWC with one channel. */
export function loadIdxDataset(spec: IdxDatasetSpec): Dataset {
  const fix = spec.fix ?? DEFAULT_FIX;
  const train = new IdxSplit(spec.train, spec.classes.length, fix);
  const test = new IdxSplit(spec.test, spec.classes.length, fix);
  if (train.rows !== test.rows || train.cols !== test.cols)
    throw new DatasetError(
      `${spec.test.images} holds ${test.rows}x${test.cols} images, ${spec.train.images} ${train.rows}x${train.cols}: the splits are not from one dataset; ${fix}`,
    );
  const files = { format: 'idx' as const, train: spec.train, test: spec.test };
  return { name: spec.name, classes: spec.classes, imageShape: [train.rows, train.cols, 1], train, test, files };
}

/**
 * Writes an IDX file: `shape` is [n, rows, cols] for images, [n] for labels, `bytes` the row-major data.
 * Gzipped when `file` ends in .gz. Written to a temporary file beside it and renamed, so a reader never
 * sees a half-written file.
 */
export function writeIdx(file: string, kind: IdxKind, shape: readonly number[], bytes: Uint8Array): void {
  if (shape.length !== DIMENSIONS[kind]) throw new RangeError(`IDX ${kind} have ${DIMENSIONS[kind]} dimension(s), got shape [${shape}]`);
  for (const d of shape)
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new RangeError(`IDX dimension ${d} is not a uint32 (shape [${shape}])`);
  const expected = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected) throw new RangeError(`shape [${shape}] needs ${expected} bytes, got ${bytes.length}`);
  const header = Buffer.alloc(4 + 4 * shape.length);
  header.writeUInt32BE(MAGIC[kind], 0);
  for (const [i, d] of shape.entries()) header.writeUInt32BE(d, 4 + 4 * i);
  const plain = Buffer.concat([header, bytes]);
  const content = file.endsWith('.gz') ? gzipSync(plain) : plain;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    fs.writeFileSync(tmp, content);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
