/** Small file helpers shared by the dataset readers. */
import fs from 'node:fs';
import { DatasetError } from './types.js';

/** Non-empty, trimmed lines of a text file; a clear error when it is missing. */
export function readLines(file: string): string[] {
  if (!fs.existsSync(file)) throw new DatasetError(`missing ${file}`);
  return fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** Image files the JPEG datasets hold (by extension). */
export function isImage(name: string): boolean {
  return /\.(jpe?g|png)$/i.test(name);
}
