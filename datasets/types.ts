/**
 * What every dataset offers the runner: class names, splits with labels in memory, and images read on
 * demand (uint8 NHWC), so a large cache never has to fit in RAM.
 */
export interface Split {
  readonly size: number;
  readonly labels: Int32Array;
  /** Images at `indices`, as one uint8 NHWC block of indices.length x H x W x C bytes. */
  readImages(indices: ArrayLike<number>): Uint8Array;
}

export interface Dataset {
  readonly name: string;
  readonly classes: string[];
  /** [height, width, channels] */
  readonly imageShape: [number, number, number];
  readonly train: Split;
  readonly test: Split;
  /** Where the data lies on disk, for tools outside this process (the PyTorch parity trainer reads IDX files). */
  readonly files?: { format: 'idx'; train: { images: string; labels: string }; test: { images: string; labels: string } };
}

/** A dataset problem a user can fix: names the file and what was expected. */
export class DatasetError extends Error {}
