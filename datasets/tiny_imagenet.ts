/**
 * Tiny-ImageNet-200 from where tiny-imagenet-200.zip extracts: DIR/tiny-imagenet-200/{wnids.txt, words.txt,
 * train/<wnid>/images/*.JPEG, val/images/*.JPEG, val/val_annotations.txt}. The official test split has no
 * labels, so val is the test split. Classes are numbered in sorted wnid order (as ImageFolder does).
 * Images are decoded once into DIR/tiny-imagenet-200/cache-<R>/{train,test} (default R = 64).
 */
import fs from 'node:fs';
import path from 'node:path';
import { isImage, readLines } from './files.js';
import { buildCache, cacheExists, CacheSplit, type CacheEntry } from './image_cache.js';
import { DatasetError, type Dataset } from './types.js';

export const TINY_IMAGENET_DIR = 'tiny-imagenet-200';

/** Images of each split, labelled by position in `wnids` (sorted). */
function entries(dir: string, wnids: string[]): { train: CacheEntry[]; test: CacheEntry[] } {
  const index = new Map(wnids.map((w, i) => [w, i]));
  const train: CacheEntry[] = [];
  for (const wnid of wnids) {
    const images = path.join(dir, 'train', wnid, 'images');
    if (!fs.existsSync(images)) throw new DatasetError(`wnids.txt lists ${wnid} but ${images} does not exist`);
    for (const f of fs.readdirSync(images).filter(isImage).sort()) train.push({ file: path.join(images, f), label: index.get(wnid)! });
  }
  const test: CacheEntry[] = [];
  const annotations = path.join(dir, 'val', 'val_annotations.txt');
  for (const line of readLines(annotations)) {
    const [file, wnid] = line.split('\t');
    const label = index.get(wnid);
    if (label === undefined) throw new DatasetError(`${annotations}: ${file} is labelled ${wnid}, which wnids.txt does not list`);
    const image = path.join(dir, 'val', 'images', file);
    if (!fs.existsSync(image)) throw new DatasetError(`${annotations} names ${image}, which does not exist`);
    test.push({ file: image, label });
  }
  return { train, test };
}

function classNames(dir: string, wnids: string[]): string[] {
  const words = new Map<string, string>();
  const file = path.join(dir, 'words.txt');
  if (fs.existsSync(file)) {
    for (const line of readLines(file)) {
      const [wnid, names] = line.split('\t');
      words.set(wnid, (names ?? wnid).split(',')[0].trim());
    }
  }
  return wnids.map((w) => words.get(w) ?? w);
}

export interface JpegDatasetOptions {
  resolution?: number;
  onProgress?: (split: string, done: number, total: number) => void;
}

/** Loads Tiny-ImageNet, decoding it into the cache first if needed. */
export async function loadTinyImageNet(root: string, { resolution = 64, onProgress }: JpegDatasetOptions = {}): Promise<Dataset> {
  const dir = path.join(root, TINY_IMAGENET_DIR);
  if (!fs.existsSync(dir)) throw new DatasetError(`no Tiny-ImageNet at ${dir}: extract tiny-imagenet-200.zip in ${root}`);
  const cache = path.join(dir, `cache-${resolution}`);
  const wnids = readLines(path.join(dir, 'wnids.txt')).sort();
  if (!cacheExists(path.join(cache, 'train')) || !cacheExists(path.join(cache, 'test'))) {
    const e = entries(dir, wnids);
    for (const split of ['train', 'test'] as const) {
      if (!cacheExists(path.join(cache, split))) {
        await buildCache(e[split], path.join(cache, split), resolution, wnids.length, (d, t) => onProgress?.(split, d, t));
      }
    }
  }
  return {
    name: 'tinyimagenet',
    classes: classNames(dir, wnids),
    imageShape: [resolution, resolution, 3],
    train: new CacheSplit(path.join(cache, 'train')),
    test: new CacheSplit(path.join(cache, 'test')),
  };
}
