/**
 * Downloading official archives (.tar.gz and .zip) and unpacking them, or sets of plain files
 * (Fashion-MNIST's four .gz files): resumable HTTP(S) download with progress, md5 check, and safe
 * extraction (no entry may leave the target folder; links and absolute paths are refused).
 * Nothing half-done is left where a loader would find it: downloads grow in `<file>.partial` and are
 * renamed when complete (plain files only once their md5 is right); archives are extracted into a
 * temporary folder and the dataset folder is renamed into place.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar';
import yauzl from 'yauzl';
import { DatasetError } from './types.js';

export interface ArchiveSpec {
  url: string;
  format: 'tar.gz' | 'zip';
  /** Published size in bytes and md5 of the archive. */
  bytes: number;
  md5: string;
  /** The folder the archive extracts to (relative to the data root). */
  extractsTo: string;
}

/** Plain files fetched one by one from `${baseUrl}/${name}` into `<root>/<dir>/<name>`. */
export interface FileSetSpec {
  /** Where the files are published; `--url` replaces it with a mirror's. */
  baseUrl: string;
  /** The folder the files go to (relative to the data root). */
  dir: string;
  /**
   * Published size in bytes and md5 of each file, as downloaded; `contentMd5`, the md5 of a .gz file's
   * decompressed content, also accepts a copy already there that was compressed differently.
   */
  files: { name: string; bytes: number; md5: string; contentMd5?: string }[];
}

export type Progress = (received: number, total: number) => void;

function get(url: string, headers: Record<string, string>): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    const req = client.get(url, { headers }, resolve);
    req.on('error', (e) =>
      reject(new DatasetError(`download of ${url} failed: ${e.message}; check the address and the network, then run the command again`)),
    );
  });
}

/**
 * Downloads `url` to `dest`, resuming `dest.partial` when the server honours byte ranges.
 * Follows up to 5 redirects. `check`, when given, sees the complete `dest.partial` before it is renamed;
 * when it throws, the partial file is deleted (resuming a complete but wrong file cannot repair it).
 */
export async function download(url: string, dest: string, onProgress?: Progress, check?: (file: string) => Promise<void>): Promise<void> {
  const partial = `${dest}.partial`;
  const finish = async () => {
    try {
      await check?.(partial);
    } catch (e) {
      fs.rmSync(partial, { force: true });
      throw e;
    }
    fs.renameSync(partial, dest);
  };
  let target = url;
  for (let redirects = 0; redirects <= 5; redirects++) {
    const have = fs.existsSync(partial) ? fs.statSync(partial).size : 0;
    const res = await get(target, have > 0 ? { Range: `bytes=${have}-` } : {});
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      target = new URL(res.headers.location, target).toString();
      continue;
    }
    if (status === 416) {
      // Range past the end: what we have is already the whole file.
      res.resume();
      await finish();
      return;
    }
    if (status !== 200 && status !== 206) {
      res.resume();
      throw new DatasetError(`download of ${target} failed: HTTP ${status}`);
    }
    const resumed = status === 206;
    const length = Number(res.headers['content-length'] ?? 0);
    const total = (resumed ? have : 0) + length;
    let received = resumed ? have : 0;
    const out = fs.createWriteStream(partial, { flags: resumed ? 'a' : 'w' });
    await new Promise<void>((resolve, reject) => {
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        onProgress?.(received, total);
      });
      // A connection dropped mid-way ("aborted"): what came is flushed to the .partial file for the next try.
      let cut: Error | null = null;
      res.on('error', (e) => {
        cut = e;
        out.end();
      });
      out.on('error', (e: NodeJS.ErrnoException) => reject(Object.assign(e, { path: e.path ?? partial })));
      out.on('finish', () => {
        if (!cut) return resolve();
        const message = `download of ${target} was cut off at ${received} of ${total} bytes (${cut.message}); run the command again to resume`;
        reject(new DatasetError(message));
      });
      res.pipe(out);
    });
    if (length > 0 && received !== total)
      throw new DatasetError(`download of ${target} stopped at ${received} of ${total} bytes; run the command again to resume`);
    await finish();
    return;
  }
  throw new DatasetError(`download of ${url}: too many redirects`);
}

export async function md5File(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * md5 and size of a file's content: decompressed when its name ends in .gz, so that two copies
 * compressed differently (Debian recompresses Fashion-MNIST's files) compare equal.
 */
export async function md5Content(file: string): Promise<{ md5: string; bytes: number }> {
  if (!fs.existsSync(file)) throw new DatasetError(`missing ${file}`);
  const hash = createHash('md5');
  let bytes = 0;
  const source = fs.createReadStream(file);
  const gzipped = file.endsWith('.gz');
  const stream = gzipped ? source.pipe(createGunzip()) : source;
  if (gzipped) source.on('error', (e) => stream.destroy(e));
  try {
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch (e) {
    if (!gzipped) throw e;
    throw new DatasetError(`${file} cannot be decompressed (${(e as Error).message}; truncated or not gzip?)`);
  } finally {
    source.destroy();
  }
  return { md5: hash.digest('hex'), bytes };
}

export async function verifyArchive(file: string, spec: Pick<ArchiveSpec, 'bytes' | 'md5'>): Promise<void> {
  const bytes = fs.statSync(file).size;
  if (bytes !== spec.bytes) throw new DatasetError(`${file} is ${bytes} bytes, expected ${spec.bytes}: delete it and fetch again`);
  const md5 = await md5File(file);
  if (md5 !== spec.md5)
    throw new DatasetError(`${file} has md5 ${md5}, expected ${spec.md5}: the download is corrupt; delete it and fetch again`);
}

const SAFE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/** Why an entry path may not be extracted, or null when it is a plain relative path inside the target. */
function unsafePath(p: string): string | null {
  if (path.isAbsolute(p) || /^[a-zA-Z]:/.test(p)) return `${p} is an absolute path`;
  if (p.split(/[\\/]/).includes('..')) return `${p} leaves the target folder`;
  return null;
}

/** Every entry must be a plain file or folder whose path stays inside the target. */
async function checkTarEntries(archive: string): Promise<void> {
  const problems: string[] = [];
  await tar.t({
    file: archive,
    onReadEntry: (entry) => {
      const p = entry.path;
      const unsafe = SAFE_TYPES.has(entry.type) ? unsafePath(p) : `${p} is a ${entry.type}`;
      if (unsafe) problems.push(unsafe);
    },
  });
  if (problems.length > 0) throw new DatasetError(`refusing to extract ${archive}: ${problems.slice(0, 3).join('; ')}`);
}

/** Runs `unpack(tmp)` in a temporary folder under `root`, then moves `tmp/<extractsTo>` into place. */
async function extractInto(archive: string, root: string, extractsTo: string, unpack: (tmp: string) => Promise<void>): Promise<void> {
  fs.mkdirSync(root, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(root, '.extract-'));
  try {
    await unpack(tmp);
    const produced = path.join(tmp, extractsTo);
    if (!fs.existsSync(produced)) throw new DatasetError(`${archive} did not contain ${extractsTo}/`);
    const final = path.join(root, extractsTo);
    fs.rmSync(final, { recursive: true, force: true });
    fs.renameSync(produced, final);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Extracts a .tar.gz into `root`, so that `root/<extractsTo>` appears complete or not at all. */
export async function extractTarGz(archive: string, root: string, extractsTo: string): Promise<void> {
  await checkTarEntries(archive);
  await extractInto(archive, root, extractsTo, (tmp) =>
    tar.x({
      file: archive,
      cwd: tmp,
      strict: true,
      preservePaths: false,
      filter: (_, entry) => SAFE_TYPES.has((entry as { type: string }).type),
    }),
  );
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/** Extracts a .zip the same way; symbolic links, absolute paths and ".." entries are refused. */
export async function extractZip(archive: string, root: string, extractsTo: string): Promise<void> {
  await extractInto(archive, root, extractsTo, async (tmp) => {
    const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(archive, { lazyEntries: true, autoClose: true }, (err, z) =>
        err ? reject(new DatasetError(`${archive}: ${err.message}`)) : resolve(z),
      ),
    );
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error) => {
        zip.close();
        reject(e instanceof DatasetError ? e : new DatasetError(`${archive}: ${e.message}`));
      };
      zip.on('error', fail);
      zip.on('end', resolve);
      zip.on('entry', (entry: yauzl.Entry) => {
        const name = entry.fileName;
        const isLink = ((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK;
        const unsafe = isLink ? `${name} is a symbolic link` : unsafePath(name);
        if (unsafe) return fail(new DatasetError(`refusing to extract ${archive}: ${unsafe}`));
        const target = path.join(tmp, name);
        if (name.endsWith('/')) {
          fs.mkdirSync(target, { recursive: true });
          zip.readEntry();
          return;
        }
        fs.mkdirSync(path.dirname(target), { recursive: true });
        zip.openReadStream(entry, (err, stream) => {
          if (err) return fail(err);
          pipeline(stream, fs.createWriteStream(target)).then(() => zip.readEntry(), fail);
        });
      });
      zip.readEntry();
    });
  });
}

/** Download (resuming), verify, extract. The verified archive is kept in `root` for later checks. */
export async function fetchArchive(spec: ArchiveSpec, root: string, onProgress?: Progress): Promise<string> {
  fs.mkdirSync(root, { recursive: true });
  const archive = path.join(root, path.basename(new URL(spec.url).pathname));
  if (!fs.existsSync(archive)) await download(spec.url, archive, onProgress);
  await verifyArchive(archive, spec);
  await (spec.format === 'zip' ? extractZip : extractTarGz)(archive, root, spec.extractsTo);
  return path.join(root, spec.extractsTo);
}

/**
 * Downloads each file of a set (resuming) into `<root>/<dir>/`; a file appears under its name only once
 * its size and md5 are the published ones. Files already there are checked (by md5, or by their
 * content's md5), not fetched again.
 */
export async function fetchFiles(
  spec: FileSetSpec,
  root: string,
  onProgress?: (file: string, received: number, total: number) => void,
): Promise<string> {
  const dir = path.join(root, spec.dir);
  fs.mkdirSync(dir, { recursive: true });
  for (const file of spec.files) {
    const dest = path.join(dir, file.name);
    if (fs.existsSync(dest)) {
      try {
        await verifyArchive(dest, file);
      } catch (e) {
        const content = file.contentMd5 ? await md5Content(dest).catch(() => null) : null;
        if (!file.contentMd5 || content?.md5 !== file.contentMd5) throw e;
      }
      continue;
    }
    const url = `${spec.baseUrl.replace(/\/+$/, '')}/${file.name}`;
    await download(url, dest, onProgress && ((received, total) => onProgress(file.name, received, total)), async (partial) => {
      const bytes = fs.statSync(partial).size;
      if (bytes !== file.bytes)
        throw new DatasetError(`${url} gave ${bytes} bytes, expected ${file.bytes}: the download is corrupt; it was deleted, fetch again`);
      const md5 = await md5File(partial);
      if (md5 !== file.md5)
        throw new DatasetError(
          `${url} gave a file with md5 ${md5}, expected ${file.md5}: the download is corrupt; it was deleted, fetch again`,
        );
    });
  }
  return dir;
}
