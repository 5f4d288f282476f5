import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { loadIdxDataset, readIdx, writeIdx, type IdxDatasetSpec } from '../datasets/idx.js';
import { DatasetError } from '../datasets/types.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-idx-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const CLASSES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];

/** n images of rows x cols with a recognisable pattern: byte p of image i is (31 i + 7 p + 3) mod 256. */
function pixels(n: number, rows: number, cols: number): Uint8Array {
  const b = new Uint8Array(n * rows * cols);
  for (let i = 0; i < n; i++) for (let p = 0; p < rows * cols; p++) b[i * rows * cols + p] = (31 * i + 7 * p + 3) % 256;
  return b;
}

/** An IDX file built by hand from the format's definition (not by writeIdx), big-endian. */
function idxBytes(magic: number, dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

/** A dataset folder of 3 train (2x4) and 2 test images, written with writeIdx; `ext` '' or '.gz'. */
function writeSet(dir: string, ext: string, trainLabels = [3, 0, 9], testLabels = [1, 2]): IdxDatasetSpec {
  const f = (n: string) => path.join(dir, `${n}${ext}`);
  writeIdx(f('train-images'), 'images', [3, 2, 4], pixels(3, 2, 4));
  writeIdx(f('train-labels'), 'labels', [trainLabels.length], Uint8Array.from(trainLabels));
  writeIdx(f('test-images'), 'images', [2, 2, 4], pixels(2, 2, 4));
  writeIdx(f('test-labels'), 'labels', [testLabels.length], Uint8Array.from(testLabels));
  return {
    name: 'tiny',
    classes: CLASSES,
    train: { images: f('train-images'), labels: f('train-labels') },
    test: { images: f('test-images'), labels: f('test-labels') },
    fix: 'make the fixture again',
  };
}

describe('IDX files', () => {
  it('writeIdx writes the MNIST layout: big-endian magic and dimensions, then the bytes', () => {
    const file = path.join(tmp, 'layout', 'images');
    writeIdx(file, 'images', [3, 2, 4], pixels(3, 2, 4));
    expect(fs.readFileSync(file).equals(idxBytes(0x803, [3, 2, 4], pixels(3, 2, 4)))).toBe(true);
    expect(Array.from(fs.readFileSync(file).subarray(0, 8))).toEqual([0, 0, 8, 3, 0, 0, 0, 3]);
    writeIdx(`${file}.gz`, 'labels', [2], Uint8Array.from([5, 6]));
    const gz = fs.readFileSync(`${file}.gz`);
    expect(Array.from(gz.subarray(0, 2))).toEqual([0x1f, 0x8b]);
    expect(gunzipSync(gz).equals(idxBytes(0x801, [2], Uint8Array.from([5, 6])))).toBe(true);
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(['images', 'images.gz']); // no temporary file left
  });

  it('writeIdx refuses a shape that does not fit the kind or the bytes', () => {
    const file = path.join(tmp, 'refused');
    expect(() => writeIdx(file, 'images', [6, 4], new Uint8Array(24))).toThrow(/IDX images have 3 dimension\(s\), got shape \[6,4\]/);
    expect(() => writeIdx(file, 'labels', [5], new Uint8Array(4))).toThrow(/shape \[5\] needs 5 bytes, got 4/);
    expect(() => writeIdx(file, 'labels', [-1], new Uint8Array(0))).toThrow(/dimension -1 is not a uint32/);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('reads a hand-made file (the loader follows the format, not just the writer)', () => {
    const dir = path.join(tmp, 'hand');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'i'), idxBytes(0x803, [2, 3, 2], pixels(2, 3, 2)));
    fs.writeFileSync(path.join(dir, 'l.gz'), gzipSync(idxBytes(0x801, [2], Uint8Array.from([7, 4]))));
    const ds = loadIdxDataset({
      name: 'hand',
      classes: CLASSES,
      train: { images: path.join(dir, 'i'), labels: path.join(dir, 'l.gz') },
      test: { images: path.join(dir, 'i'), labels: path.join(dir, 'l.gz') },
    });
    expect(ds.imageShape).toEqual([3, 2, 1]);
    expect(Array.from(ds.train.labels)).toEqual([7, 4]);
    expect(Array.from(ds.train.readImages([1]))).toEqual(Array.from(pixels(2, 3, 2).subarray(6, 12)));
    const labels = readIdx(path.join(dir, 'l.gz'), 'labels');
    expect([labels.shape, Array.from(labels.data)]).toEqual([[2], [7, 4]]);
  });

  for (const ext of ['', '.gz'])
    it(`round-trips a dataset through writeIdx and loadIdxDataset (${ext || 'plain'})`, () => {
      const ds = loadIdxDataset(writeSet(path.join(tmp, `rt${ext}`), ext));
      expect(ds.name).toBe('tiny');
      expect(ds.classes).toEqual(CLASSES);
      expect(ds.imageShape).toEqual([2, 4, 1]);
      expect([ds.train.size, ds.test.size]).toEqual([3, 2]);
      expect(Array.from(ds.train.labels)).toEqual([3, 0, 9]);
      expect(ds.train.labels).toBeInstanceOf(Int32Array);
      expect(Array.from(ds.test.labels)).toEqual([1, 2]);
      // NHWC with one channel: image k of the block is image indices[k], 8 bytes each, in the order asked.
      const all = pixels(3, 2, 4);
      const block = ds.train.readImages([2, 0, 2]);
      expect(block.length).toBe(3 * 8);
      expect(Array.from(block)).toEqual([...all.subarray(16, 24), ...all.subarray(0, 8), ...all.subarray(16, 24)]);
      expect(Array.from(ds.test.readImages([1]))).toEqual(Array.from(pixels(2, 2, 4).subarray(8, 16)));
      expect(ds.train.readImages([]).length).toBe(0);
      expect(() => ds.train.readImages([3])).toThrow(/image index 3 outside 0\.\.2/);
      expect(() => ds.train.readImages([0.5])).toThrow(RangeError);
    });

  it('reads a plain file’s images by offset at each call, not once at load', () => {
    const spec = writeSet(path.join(tmp, 'lazy'), '');
    const ds = loadIdxDataset(spec);
    const file = fs.readFileSync(spec.train.images);
    file[16 + 8] = 255; // first pixel of image 1
    fs.writeFileSync(spec.train.images, file);
    expect(ds.train.readImages([1])[0]).toBe(255);
  });
});

describe('IDX errors name the file and the fix', () => {
  const expectError = (spec: IdxDatasetSpec, pattern: RegExp) => {
    expect(() => loadIdxDataset(spec)).toThrow(DatasetError);
    expect(() => loadIdxDataset(spec)).toThrow(pattern);
    expect(() => loadIdxDataset(spec)).toThrow(/make the fixture again$/);
  };

  it('a truncated file: plain, gzipped, shorter than its header', () => {
    const plain = writeSet(path.join(tmp, 'trunc'), '');
    fs.truncateSync(plain.train.images, 16 + 19);
    expectError(plain, /trunc\/train-images is truncated: its header promises 3 x 2 x 4 = 24 data bytes, it holds 19 bytes/);
    fs.truncateSync(plain.train.images, 10);
    expectError(plain, /train-images is 10 bytes, shorter than its 16-byte IDX header \(truncated\)/);
    fs.writeFileSync(plain.train.images, '');
    expectError(plain, /train-images is 0 bytes, too short for an IDX header/);

    const gz = writeSet(path.join(tmp, 'truncgz'), '.gz');
    const whole = fs.readFileSync(gz.train.images);
    fs.writeFileSync(gz.train.images, whole.subarray(0, whole.length - 12)); // the gzip stream cut off
    expectError(gz, /truncgz\/train-images\.gz cannot be decompressed \(.*; truncated or not gzip\?\)/);
    // A complete gzip stream whose content is short: the header's promise is checked on the content.
    fs.writeFileSync(gz.test.labels, gzipSync(idxBytes(0x801, [2], Uint8Array.from([1]))));
    fs.writeFileSync(gz.train.images, whole);
    expectError(gz, /test-labels\.gz is truncated: its header promises 2 = 2 data bytes, it holds 1 decompressed bytes/);
  });

  it('more bytes than the header promises', () => {
    const spec = writeSet(path.join(tmp, 'long'), '');
    fs.appendFileSync(spec.test.images, Buffer.alloc(5));
    expectError(spec, /test-images holds 21 data bytes, 5 more than its header promises \(2 x 2 x 4\)/);
  });

  it('a wrong magic number: says what was expected and what was found', () => {
    const spec = writeSet(path.join(tmp, 'magic'), '');
    expectError(
      { ...spec, train: { images: spec.train.labels, labels: spec.train.images } },
      /magic\/train-labels has magic number 0x00000801, expected 0x00000803 \(IDX uint8 images, 3 dimensions\); it is an IDX labels file: are the image and label files swapped\?/,
    );
    fs.writeFileSync(spec.test.labels, idxBytes(0x0d01, [2], Uint8Array.from([1, 2])));
    expectError(
      spec,
      /test-labels has magic number 0x00000d01, expected 0x00000801 \(IDX uint8 labels, 1 dimension\); not an IDX uint8 file/,
    );
    fs.writeFileSync(spec.test.labels, gzipSync(idxBytes(0x801, [2], Uint8Array.from([1, 2]))));
    expectError(spec, /test-labels has magic number 0x1f8b08.., expected 0x00000801 .*it is gzip-compressed: name it \.gz/);
  });

  it('image and label counts that disagree', () => {
    expectError(
      writeSet(path.join(tmp, 'count'), '.gz', [1, 2]),
      /count\/train-images\.gz holds 3 images but .*train-labels\.gz holds 2 labels/,
    );
  });

  it('a label outside the class list', () => {
    expectError(writeSet(path.join(tmp, 'label'), '', [1, 10, 2]), /label\/train-labels: label 10 at index 1, expected 0\.\.9/);
  });

  it('a missing file', () => {
    const spec = writeSet(path.join(tmp, 'missing'), '.gz');
    fs.rmSync(spec.test.images);
    expectError(spec, /missing .*missing\/test-images\.gz: make the fixture again/);
  });

  it('splits whose images differ in size', () => {
    const spec = writeSet(path.join(tmp, 'sides'), '');
    writeIdx(spec.test.images, 'images', [2, 4, 2], pixels(2, 4, 2));
    expectError(spec, /test-images holds 4x2 images, .*train-images 2x4/);
  });

  it('without a fix of its own, a generic one', () => {
    const spec = writeSet(path.join(tmp, 'nofix'), '');
    fs.rmSync(spec.train.labels);
    expect(() => loadIdxDataset({ ...spec, fix: undefined })).toThrow(/missing .*train-labels: write or fetch the dataset again/);
  });
});
