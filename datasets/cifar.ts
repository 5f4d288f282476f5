/**
 * CIFAR-10 and CIFAR-100, official *binary* versions, read in place from where their archives extract:
 *   DIR/cifar-10-batches-bin/{data_batch_1..5.bin, test_batch.bin, batches.meta.txt}
 *     records of 1 label byte + 3072 pixel bytes (1024 red, 1024 green, 1024 blue; rows top to bottom)
 *   DIR/cifar-100-binary/{train.bin, test.bin, fine_label_names.txt, coarse_label_names.txt}
 *     records of coarse label, fine label, 3072 pixel bytes
 * Labels are read once; pixels are read per batch by file offset.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readLines } from './files.js';
import { DatasetError, type Dataset, type Split } from './types.js';

const SIDE = 32;
const PIXELS = SIDE * SIDE;
const IMAGE_BYTES = 3 * PIXELS;

interface RecordFormat {
  /** Label bytes before the pixels. */
  labelBytes: number;
  /** Which of them is the label. */
  labelOffset: number;
  classes: number;
}

/** One or more files of fixed-size records, addressed as one sequence. */
class RecordSplit implements Split {
  readonly size: number;
  readonly labels: Int32Array;
  private readonly starts: number[] = [];
  private readonly recordBytes: number;

  constructor(
    private readonly files: string[],
    private readonly format: RecordFormat,
  ) {
    this.recordBytes = format.labelBytes + IMAGE_BYTES;
    const counts = files.map((file) => {
      if (!fs.existsSync(file)) throw new DatasetError(`missing ${file}`);
      const bytes = fs.statSync(file).size;
      if (bytes === 0 || bytes % this.recordBytes !== 0) {
        throw new DatasetError(
          `${file} is ${bytes} bytes, not a whole number of ${this.recordBytes}-byte records (truncated or not CIFAR binary?)`,
        );
      }
      return bytes / this.recordBytes;
    });
    this.size = counts.reduce((a, b) => a + b, 0);
    this.labels = new Int32Array(this.size);
    let base = 0;
    files.forEach((file, f) => {
      this.starts.push(base);
      const data = fs.readFileSync(file);
      for (let r = 0; r < counts[f]; r++) {
        const label = data[r * this.recordBytes + format.labelOffset];
        if (label >= format.classes) throw new DatasetError(`${file}: record ${r} has label ${label}, expected 0..${format.classes - 1}`);
        this.labels[base + r] = label;
      }
      base += counts[f];
    });
  }

  readImages(indices: ArrayLike<number>): Uint8Array {
    const out = new Uint8Array(indices.length * IMAGE_BYTES);
    const planar = new Uint8Array(IMAGE_BYTES);
    const fds = new Map<number, number>();
    try {
      for (let k = 0; k < indices.length; k++) {
        const index = indices[k];
        if (!Number.isInteger(index) || index < 0 || index >= this.size)
          throw new RangeError(`image index ${index} outside 0..${this.size - 1}`);
        let f = this.starts.length - 1;
        while (this.starts[f] > index) f--;
        if (!fds.has(f)) fds.set(f, fs.openSync(this.files[f], 'r'));
        const offset = (index - this.starts[f]) * this.recordBytes + this.format.labelBytes;
        fs.readSync(fds.get(f)!, planar, 0, IMAGE_BYTES, offset);
        const o = k * IMAGE_BYTES;
        for (let p = 0; p < PIXELS; p++) {
          out[o + 3 * p] = planar[p];
          out[o + 3 * p + 1] = planar[PIXELS + p];
          out[o + 3 * p + 2] = planar[2 * PIXELS + p];
        }
      }
    } finally {
      for (const fd of fds.values()) fs.closeSync(fd);
    }
    return out;
  }
}

function readNames(file: string, expected: number): string[] {
  const names = readLines(file);
  if (names.length !== expected) throw new DatasetError(`${file} lists ${names.length} class names, expected ${expected}`);
  return names;
}

export const CIFAR10_DIR = 'cifar-10-batches-bin';
export const CIFAR100_DIR = 'cifar-100-binary';

/**
 * CIFAR-10 from DIR/cifar-10-batches-bin. Training files are every data_batch_N.bin present (the official
 * archive has 5; the synthetic set, written in the same format, has 1).
 */
export function loadCifar10(root: string, name = 'cifar10'): Dataset {
  const dir = path.join(root, CIFAR10_DIR);
  if (!fs.existsSync(dir))
    throw new DatasetError(
      `no CIFAR-10 at ${dir}: run npm run data -- fetch cifar10 --dir ${root} (or extract cifar-10-binary.tar.gz there)`,
    );
  const trainFiles = fs
    .readdirSync(dir)
    .filter((f) => /^data_batch_\d+\.bin$/.test(f))
    .sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]))
    .map((f) => path.join(dir, f));
  if (trainFiles.length === 0) throw new DatasetError(`no data_batch_*.bin in ${dir}: the training split is missing`);
  const format = { labelBytes: 1, labelOffset: 0, classes: 10 };
  return {
    name,
    classes: readNames(path.join(dir, 'batches.meta.txt'), 10),
    imageShape: [SIDE, SIDE, 3],
    train: new RecordSplit(trainFiles, format),
    test: new RecordSplit([path.join(dir, 'test_batch.bin')], format),
  };
}

/** CIFAR-100 from DIR/cifar-100-binary; `labels` picks the 100 fine (default) or 20 coarse classes. */
export function loadCifar100(root: string, labels: 'fine' | 'coarse' = 'fine'): Dataset {
  const dir = path.join(root, CIFAR100_DIR);
  if (!fs.existsSync(dir))
    throw new DatasetError(
      `no CIFAR-100 at ${dir}: run npm run data -- fetch cifar100 --dir ${root} (or extract cifar-100-binary.tar.gz there)`,
    );
  const format = labels === 'fine' ? { labelBytes: 2, labelOffset: 1, classes: 100 } : { labelBytes: 2, labelOffset: 0, classes: 20 };
  return {
    name: labels === 'fine' ? 'cifar100' : 'cifar100-coarse',
    classes: readNames(path.join(dir, `${labels}_label_names.txt`), format.classes),
    imageShape: [SIDE, SIDE, 3],
    train: new RecordSplit([path.join(dir, 'train.bin')], format),
    test: new RecordSplit([path.join(dir, 'test.bin')], format),
  };
}
