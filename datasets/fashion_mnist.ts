/**
 * Fashion-MNIST (Zalando): 28x28 grey-scale images of clothing in 10 classes, 60,000 train and 10,000
 * test, as four gzipped IDX files. Read from the first of
 *   <data root>/fashion-mnist/            where `npm run data -- fetch fashion-mnist` puts them
 *   /usr/share/datasets/fashion-mnist/    where Debian's dataset-fashion-mnist package installs them
 * that holds all four, so a machine with the package needs no download and no flag. A file may also be
 * kept gunzipped (its name without .gz).
 * Debian recompressed the files, so their md5s are not the published ones; `verify` therefore checks
 * the md5 of the decompressed content, which both copies share.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type FileSetSpec, md5Content } from './fetch.js';
import { loadIdxDataset } from './idx.js';
import { DatasetError, type Dataset } from './types.js';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** The folder under the data root. */
export const FASHION_MNIST_DIR = 'fashion-mnist';
/** Where `apt-get install dataset-fashion-mnist` puts the files. */
export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';

export interface FashionMnistFile {
  name: string;
  /** Size and md5 of the .gz file as published (the official README). */
  bytes: number;
  md5: string;
  /** Size and md5 of its decompressed content (the same for the official and Debian's copies). */
  contentBytes: number;
  contentMd5: string;
}

export const FASHION_MNIST_FILES = {
  trainImages: {
    name: 'train-images-idx3-ubyte.gz',
    bytes: 26421880,
    md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
    contentBytes: 47040016,
    contentMd5: 'f4a8712d7a061bf5bd6d2ca38dc4d50a',
  },
  trainLabels: {
    name: 'train-labels-idx1-ubyte.gz',
    bytes: 29515,
    md5: '25c81989df183df01b3e8a0aad5dffbe',
    contentBytes: 60008,
    contentMd5: '9018921c3c673c538a1fc5bad174d6f9',
  },
  testImages: {
    name: 't10k-images-idx3-ubyte.gz',
    bytes: 4422102,
    md5: 'bef4ecab320f06d8554ea6380940ec79',
    contentBytes: 7840016,
    contentMd5: '8181f5470baa50b63fa0f6fddb340f0a',
  },
  testLabels: {
    name: 't10k-labels-idx1-ubyte.gz',
    bytes: 5148,
    md5: 'bb300cfdad3c16e7a12a480ee83cd310',
    contentBytes: 10008,
    contentMd5: '15d484375f8d13e6eb1aabb0c3f46965',
  },
} satisfies Record<string, FashionMnistFile>;

const FILES: FashionMnistFile[] = Object.values(FASHION_MNIST_FILES);

/** What `npm run data -- fetch fashion-mnist` downloads. */
export const FASHION_MNIST_FETCH: FileSetSpec = {
  baseUrl: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com',
  dir: FASHION_MNIST_DIR,
  files: FILES.map(({ name, bytes, md5, contentMd5 }) => ({ name, bytes, md5, contentMd5 })),
};

const fixFor = (root: string) =>
  `run npm run data -- fetch fashion-mnist --dir ${root} (into ${path.join(root, FASHION_MNIST_DIR)}), or apt-get install dataset-fashion-mnist (into ${FASHION_MNIST_SYSTEM_DIR})`;

/** The file in `dir`: as named (.gz), else gunzipped (the name without .gz), else null. */
function fileIn(dir: string, name: string): string | null {
  for (const candidate of [name, name.replace(/\.gz$/, '')]) if (fs.existsSync(path.join(dir, candidate))) return path.join(dir, candidate);
  return null;
}

/**
 * The folder whose copy is used: <root>/fashion-mnist when it has all four files, else Debian's
 * (`systemDir`) when that has them; an error naming both places and both fixes when neither does.
 */
export function findFashionMnist(root: string, systemDir = FASHION_MNIST_SYSTEM_DIR): string {
  const local = path.join(root, FASHION_MNIST_DIR);
  const missing = (dir: string) => FILES.filter((f) => fileIn(dir, f.name) === null).map((f) => f.name);
  if (missing(local).length === 0) return local;
  if (missing(systemDir).length === 0) return systemDir;
  const partly = missing(local).length < FILES.length ? ` (${local} lacks ${missing(local).join(', ')})` : '';
  throw new DatasetError(`no Fashion-MNIST in ${local} or ${systemDir}${partly}: ${fixFor(root)}`);
}

/** Fashion-MNIST, from where `findFashionMnist` says: images [28, 28, 1]. */
export function loadFashionMnist(root: string, systemDir = FASHION_MNIST_SYSTEM_DIR): Dataset {
  const dir = findFashionMnist(root, systemDir);
  const file = (f: FashionMnistFile) => fileIn(dir, f.name)!;
  const { trainImages, trainLabels, testImages, testLabels } = FASHION_MNIST_FILES;
  return loadIdxDataset({
    name: 'fashion-mnist',
    classes: FASHION_MNIST_CLASSES,
    train: { images: file(trainImages), labels: file(trainLabels) },
    test: { images: file(testImages), labels: file(testLabels) },
    fix: dir === systemDir ? 'reinstall it: apt-get install --reinstall dataset-fashion-mnist' : `delete it and ${fixFor(root)}`,
  });
}

/** Record counts of the official copy. */
export const FASHION_MNIST_SIZES = { train: 60000, test: 10000 };

/**
 * Problems with the copy in `dir`: each file's decompressed content must have the official md5 and size
 * and, given the loaded `dataset`, its splits the official record counts.
 */
export async function verifyFashionMnist(dir: string, dataset?: Dataset): Promise<string[]> {
  const problems: string[] = [];
  for (const split of ['train', 'test'] as const)
    if (dataset && dataset[split].size !== FASHION_MNIST_SIZES[split])
      problems.push(`${split} split has ${dataset[split].size} images, the official one ${FASHION_MNIST_SIZES[split]}`);
  for (const f of FILES) {
    const file = fileIn(dir, f.name);
    if (file === null) {
      problems.push(`missing ${path.join(dir, f.name)}`);
      continue;
    }
    const { md5, bytes } = await md5Content(file);
    if (md5 !== f.contentMd5 || bytes !== f.contentBytes)
      problems.push(
        `${file}: content (decompressed) has md5 ${md5} and ${bytes} bytes, the official one ${f.contentMd5} and ${f.contentBytes}: a damaged or different copy`,
      );
  }
  return problems;
}
