/**
 * ImageNet-100: the 100-class ILSVRC-2012 subset of CMC / solo-learn / EMP-SSL (class list shipped in
 * imagenet100_classes.txt, in solo-learn's order; labels follow sorted wnid order, as ImageFolder numbers
 * them). It cannot be downloaded freely: `prepare` reads a local ImageNet (train/<wnid>/*.JPEG; val either
 * in class folders or flat with a labels file) and decodes it into ROOT/imagenet100-<R>/{train,test}
 * (default R = 224).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isImage, readLines } from './files.js';
import { buildCache, CacheSplit, type CacheEntry } from './image_cache.js';
import { DatasetError, type Dataset } from './types.js';

const CLASS_LIST = path.join(path.dirname(fileURLToPath(import.meta.url)), 'imagenet100_classes.txt');

export function imagenet100Classes(): string[] {
  return readLines(CLASS_LIST);
}

function folderEntries(dir: string, wnids: string[]): CacheEntry[] {
  const out: CacheEntry[] = [];
  wnids.forEach((wnid, label) => {
    const folder = path.join(dir, wnid);
    if (!fs.existsSync(folder)) throw new DatasetError(`class ${wnid} of ImageNet-100 has no folder ${folder}`);
    for (const f of fs.readdirSync(folder).filter(isImage).sort()) out.push({ file: path.join(folder, f), label });
  });
  return out;
}

/** Flat val folder + labels file: lines "<file> <wnid>" or "<file>,<wnid>[,...]" (a header line is skipped). */
function flatEntries(dir: string, labelsFile: string, wnids: string[]): CacheEntry[] {
  if (!fs.existsSync(labelsFile)) throw new DatasetError(`missing val labels file ${labelsFile}`);
  const index = new Map(wnids.map((w, i) => [w, i]));
  const out: CacheEntry[] = [];
  for (const line of fs.readFileSync(labelsFile, 'utf8').split(/\r?\n/)) {
    const fields = line.trim().split(/[\s,]+/);
    if (fields.length < 2) continue;
    const [file, label] = fields;
    const wnid = /n\d{8}/.exec(label)?.[0];
    if (!wnid || !index.has(wnid)) continue; // other classes, or a header
    const image = path.join(dir, /\.[a-z]+$/i.test(file) ? file : `${file}.JPEG`);
    if (!fs.existsSync(image)) throw new DatasetError(`${labelsFile} names ${image}, which does not exist`);
    out.push({ file: image, label: index.get(wnid)! });
  }
  return out;
}

export interface PrepareOptions {
  imagenetDir: string;
  root: string;
  resolution?: number;
  /** For a flat val folder. */
  valLabels?: string;
  onProgress?: (split: string, done: number, total: number) => void;
}

export function imagenet100Dir(root: string, resolution: number): string {
  return path.join(root, `imagenet100-${resolution}`);
}

export async function prepareImageNet100({ imagenetDir, root, resolution = 224, valLabels, onProgress }: PrepareOptions): Promise<string> {
  const wnids = imagenet100Classes().sort();
  if (wnids.length !== 100) throw new DatasetError(`${CLASS_LIST} lists ${wnids.length} classes, expected 100`);
  const trainDir = path.join(imagenetDir, 'train');
  const valDir = path.join(imagenetDir, 'val');
  for (const d of [trainDir, valDir])
    if (!fs.existsSync(d)) throw new DatasetError(`no ${d}: --imagenet-dir must hold ILSVRC-2012's train/ and val/`);
  const train = folderEntries(trainDir, wnids);
  const valInFolders = fs.existsSync(path.join(valDir, wnids[0]));
  if (!valInFolders && !valLabels)
    throw new DatasetError(`${valDir} is flat (no class folders): pass --val-labels FILE with "<file> <wnid>" lines`);
  const test = valInFolders ? folderEntries(valDir, wnids) : flatEntries(valDir, valLabels!, wnids);
  const out = imagenet100Dir(root, resolution);
  await buildCache(train, path.join(out, 'train'), resolution, 100, (d, t) => onProgress?.('train', d, t));
  await buildCache(test, path.join(out, 'test'), resolution, 100, (d, t) => onProgress?.('test', d, t));
  return out;
}

export function loadImageNet100(root: string, resolution = 224): Dataset {
  const dir = imagenet100Dir(root, resolution);
  if (!fs.existsSync(dir))
    throw new DatasetError(
      `ImageNet-100 is not prepared at ${dir}: run npm run data -- prepare imagenet100 --imagenet-dir PATH --dir ${root}`,
    );
  return {
    name: 'imagenet100',
    classes: imagenet100Classes().sort(),
    imageShape: [resolution, resolution, 3],
    train: new CacheSplit(path.join(dir, 'train')),
    test: new CacheSplit(path.join(dir, 'test')),
  };
}
