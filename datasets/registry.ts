/**
 * The datasets the harness knows by name: where they live under the data root, how to fetch and verify
 * them, and how to load them. The data root is --dir, else $SSL_BENCH_DATA, else ./data in the repository.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CIFAR100_DIR, CIFAR10_DIR, loadCifar10, loadCifar100 } from './cifar.js';
import { FASHION_MNIST_FETCH, FASHION_MNIST_SYSTEM_DIR, findFashionMnist, loadFashionMnist, verifyFashionMnist } from './fashion_mnist.js';
import type { ArchiveSpec, FileSetSpec } from './fetch.js';
import { imagenet100Dir, loadImageNet100 } from './imagenet100.js';
import { loadSynthetic } from './synthetic.js';
import { loadTinyImageNet, TINY_IMAGENET_DIR } from './tiny_imagenet.js';
import { DatasetError, type Dataset } from './types.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function defaultDataRoot(): string {
  return process.env.SSL_BENCH_DATA ?? path.join(REPO_ROOT, 'data');
}

/** Official archives (sizes and md5 as their authors publish them; see ../shared/reference/datasets.md). */
export const ARCHIVES: Record<string, ArchiveSpec> = {
  cifar10: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    format: 'tar.gz',
    bytes: 170052171,
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    extractsTo: CIFAR10_DIR,
  },
  cifar100: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
    format: 'tar.gz',
    bytes: 168513733,
    md5: '03b5dce01913d631647c71ecec9e9cb8',
    extractsTo: CIFAR100_DIR,
  },
  tinyimagenet: {
    url: 'http://cs231n.stanford.edu/tiny-imagenet-200.zip',
    format: 'zip',
    bytes: 248100043,
    md5: '90528d7ca1a48142e341f4ef8d21d0de',
    extractsTo: TINY_IMAGENET_DIR,
  },
};

/** Datasets published as plain files rather than one archive (fetched file by file, each md5-checked). */
export const FILE_SETS: Record<string, FileSetSpec> = {
  'fashion-mnist': FASHION_MNIST_FETCH,
};

export const DATASET_NAMES = [
  'synthetic',
  'cifar10',
  'cifar100',
  'cifar100-coarse',
  'tinyimagenet',
  'imagenet100',
  'fashion-mnist',
] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export function checkDatasetName(name: string): DatasetName {
  if (!(DATASET_NAMES as readonly string[]).includes(name))
    throw new DatasetError(`unknown dataset "${name}"; valid: ${DATASET_NAMES.join(', ')}`);
  return name as DatasetName;
}

export interface LoadOptions {
  /** Cache resolution of JPEG datasets (default 64 for Tiny-ImageNet, 224 for ImageNet-100). */
  resolution?: number;
  onProgress?: (split: string, done: number, total: number) => void;
}

/** Opens a dataset by name (decoding Tiny-ImageNet into its cache on first use). */
export async function loadDataset(name: string, root = defaultDataRoot(), options: LoadOptions = {}): Promise<Dataset> {
  switch (checkDatasetName(name)) {
    case 'synthetic':
      return loadSynthetic({ root });
    case 'cifar10':
      return loadCifar10(root);
    case 'cifar100':
      return loadCifar100(root, 'fine');
    case 'cifar100-coarse':
      return loadCifar100(root, 'coarse');
    case 'tinyimagenet':
      return loadTinyImageNet(root, options);
    case 'imagenet100':
      return loadImageNet100(root, options.resolution);
    case 'fashion-mnist':
      return loadFashionMnist(root);
  }
}

/** The folder under `root` of a dataset read from an extracted copy (not the IDX sets, which name their files). */
function copyDir(name: DatasetName, root: string, resolution = 224): string {
  if (name === 'cifar10') return path.join(root, CIFAR10_DIR);
  if (name === 'cifar100' || name === 'cifar100-coarse') return path.join(root, CIFAR100_DIR);
  if (name === 'tinyimagenet') return path.join(root, TINY_IMAGENET_DIR);
  return imagenet100Dir(root, resolution);
}

/**
 * The folder a loaded dataset was read from, and when that is not the data root's own copy, which copy it is
 * (Fashion-MNIST falls back to Debian's package), for `data inspect` and `verify` to say what they read.
 */
export function datasetCopy(ds: Dataset, root: string, resolution?: number): { dir: string; fallback: string | null } {
  const name = checkDatasetName(ds.name);
  const dir = ds.files ? path.dirname(ds.files.train.images) : copyDir(name, root, resolution);
  const inRoot = path.resolve(dir).startsWith(path.resolve(root) + path.sep);
  return {
    dir,
    fallback: inRoot
      ? null
      : `the data root ${root} has no copy; this is ${dir === FASHION_MNIST_SYSTEM_DIR ? "Debian's dataset-fashion-mnist package" : 'a copy outside it'}`,
  };
}

/** Record counts of the official extracted copies. */
const OFFICIAL_SIZES: Partial<Record<DatasetName, { train: number; test: number; files: string[] }>> = {
  cifar10: { train: 50000, test: 10000, files: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`).concat('test_batch.bin') },
  cifar100: { train: 50000, test: 10000, files: ['train.bin', 'test.bin'] },
  'cifar100-coarse': { train: 50000, test: 10000, files: ['train.bin', 'test.bin'] },
  tinyimagenet: { train: 100000, test: 10000, files: [] },
};

/**
 * Checks an extracted copy and lists every problem found (a copy that does not load is one problem, the files
 * missing and the record counts others). `dataset` is null when the copy does not load; `dir` is the copy
 * checked, for a dataset found in more than one place (Fashion-MNIST: the data root or Debian's package).
 */
export async function verifyDataset(
  name: string,
  root = defaultDataRoot(),
  options: LoadOptions = {},
): Promise<{ dataset: Dataset | null; problems: string[]; dir?: string }> {
  const problems = new Set<string>();
  let dataset: Dataset | null = null;
  try {
    dataset = await loadDataset(name, root, options);
  } catch (e) {
    if (!(e instanceof DatasetError)) throw e;
    problems.add(e.message);
  }
  if (name === 'fashion-mnist') {
    let dir: string;
    try {
      dir = findFashionMnist(root);
    } catch {
      return { dataset, problems: [...problems] }; // no copy anywhere: the load's problem says where it looked
    }
    for (const p of await verifyFashionMnist(dir, dataset ?? undefined)) problems.add(p);
    return { dataset, problems: [...problems], dir };
  }
  const official = OFFICIAL_SIZES[checkDatasetName(name)];
  if (official) {
    const dir = copyDir(checkDatasetName(name), root);
    for (const f of official.files) if (!fs.existsSync(path.join(dir, f))) problems.add(`missing ${path.join(dir, f)}`);
    for (const split of ['train', 'test'] as const)
      if (dataset && dataset[split].size !== official[split])
        problems.add(`${split} split has ${dataset[split].size} images, the official one ${official[split]}`);
  }
  return { dataset, problems: [...problems] };
}

export function classCounts(labels: Int32Array, classes: number): number[] {
  const counts = new Array(classes).fill(0);
  for (const l of labels) counts[l]++;
  return counts;
}
