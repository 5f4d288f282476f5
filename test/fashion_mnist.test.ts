import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  FASHION_MNIST_FETCH,
  FASHION_MNIST_FILES,
  FASHION_MNIST_SYSTEM_DIR,
  findFashionMnist,
  loadFashionMnist,
  verifyFashionMnist,
} from '../datasets/fashion_mnist.js';
import { fetchFiles, md5Content, type FileSetSpec } from '../datasets/fetch.js';
import { writeIdx } from '../datasets/idx.js';
import { classCounts, DATASET_NAMES, loadDataset, verifyDataset } from '../datasets/registry.js';
import { DatasetError } from '../datasets/types.js';
import { requires } from './requirements.js';

/**
 * Fashion-MNIST: where a copy is found, fetching its four files from a real HTTP server on 127.0.0.1
 * (tiny fixtures in the dataset's file names; byte ranges served, so resuming is exercised), and the real
 * copy Debian's dataset-fashion-mnist package installs (CI installs it; elsewhere those tests skip).
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-fashion-'));
const NAMES = Object.values(FASHION_MNIST_FILES).map((f) => f.name);
const { trainImages, trainLabels, testImages, testLabels } = FASHION_MNIST_FILES;

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** A tiny copy in Fashion-MNIST's file names: `train` and `test` images of 28x28, labels i mod 10. */
function fakeCopy(dir: string, train = 20, test = 10, gz = true): void {
  const images = (n: number) => Uint8Array.from({ length: n * 784 }, (_, p) => (p * 13 + n) % 256);
  const labels = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 10);
  const name = (f: { name: string }) => path.join(dir, gz ? f.name : f.name.replace(/\.gz$/, ''));
  writeIdx(name(trainImages), 'images', [train, 28, 28], images(train));
  writeIdx(name(trainLabels), 'labels', [train], labels(train));
  writeIdx(name(testImages), 'images', [test, 28, 28], images(test));
  writeIdx(name(testLabels), 'labels', [test], labels(test));
}

const served = new Map<string, Buffer>();
const requests: { url: string; range?: string }[] = [];
let server: http.Server;
let base = '';

beforeAll(async () => {
  fakeCopy(path.join(tmp, 'served'));
  for (const n of NAMES) served.set(`/mirror/${n}`, fs.readFileSync(path.join(tmp, 'served', n)));
  // For the CLI: a file of the official train-images size (so the size check passes and the md5 one runs).
  served.set(`/sized/${trainImages.name}`, Buffer.alloc(trainImages.bytes));
  server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', range: req.headers.range });
    const body = served.get(req.url ?? '');
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    if (start >= body.length && range) {
      res.writeHead(416).end();
      return;
    }
    res.writeHead(range ? 206 : 200, { 'content-length': body.length - start });
    res.end(body.subarray(start));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** FASHION_MNIST_FETCH with the fixtures' sizes and md5s, served from /mirror. */
function fixtureSpec(over: Partial<Record<string, { bytes?: number; md5?: string }>> = {}): FileSetSpec {
  return {
    ...FASHION_MNIST_FETCH,
    baseUrl: `${base}/mirror/`,
    files: NAMES.map((name) => {
      const body = served.get(`/mirror/${name}`)!;
      return { name, bytes: body.length, md5: md5(body), ...over[name] };
    }),
  };
}

describe('Fashion-MNIST: finding and loading a copy', () => {
  it('knows the ten classes and the four official files', () => {
    expect(FASHION_MNIST_CLASSES).toEqual([
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
    ]);
    expect(NAMES).toEqual([
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
      't10k-images-idx3-ubyte.gz',
      't10k-labels-idx1-ubyte.gz',
    ]);
    expect(FASHION_MNIST_FETCH.baseUrl).toBe('http://fashion-mnist.s3-website.eu-central-1.amazonaws.com');
    expect(DATASET_NAMES).toContain('fashion-mnist');
  });

  it('uses <root>/fashion-mnist when it has the files, else the system copy, and says where else to look', () => {
    const root = path.join(tmp, 'find');
    const system = path.join(tmp, 'system');
    fakeCopy(system, 30, 10);
    expect(findFashionMnist(root, system)).toBe(system);
    expect(loadFashionMnist(root, system).train.size).toBe(30);
    fakeCopy(path.join(root, FASHION_MNIST_DIR), 20, 10);
    expect(findFashionMnist(root, system)).toBe(path.join(root, FASHION_MNIST_DIR));
    const ds = loadFashionMnist(root, system);
    expect(ds.name).toBe('fashion-mnist');
    expect(ds.imageShape).toEqual([28, 28, 1]);
    expect([ds.train.size, ds.test.size]).toEqual([20, 10]);
    expect(ds.classes).toEqual(FASHION_MNIST_CLASSES);
    expect(Array.from(ds.test.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ds.train.readImages([0, 1]).length).toBe(2 * 784);
  });

  it('accepts gunzipped files (the names without .gz)', () => {
    const root = path.join(tmp, 'plain');
    fakeCopy(path.join(root, FASHION_MNIST_DIR), 20, 10, false);
    const ds = loadFashionMnist(root, path.join(tmp, 'no-system'));
    expect([ds.train.size, ds.test.size]).toEqual([20, 10]);
  });

  it('with no copy anywhere, names both places and both fixes', () => {
    const root = path.join(tmp, 'none');
    const system = path.join(tmp, 'no-system');
    const load = () => loadFashionMnist(root, system);
    expect(load).toThrow(DatasetError);
    expect(load).toThrow(
      new RegExp(
        `no Fashion-MNIST in ${root}/fashion-mnist or ${system}: run npm run data -- fetch fashion-mnist --dir ${root} .*, or apt-get install dataset-fashion-mnist`,
      ),
    );
    // Part of a copy: says which files it lacks.
    fs.mkdirSync(path.join(root, FASHION_MNIST_DIR), { recursive: true });
    fs.copyFileSync(path.join(tmp, 'served', trainImages.name), path.join(root, FASHION_MNIST_DIR, trainImages.name));
    expect(load).toThrow(/none\/fashion-mnist lacks train-labels-idx1-ubyte\.gz, t10k-images-idx3-ubyte\.gz, t10k-labels-idx1-ubyte\.gz\)/);
  });

  it('a damaged file in the data root: the error names it and how to replace it', () => {
    const root = path.join(tmp, 'damaged');
    const dir = path.join(root, FASHION_MNIST_DIR);
    fakeCopy(dir);
    fs.truncateSync(path.join(dir, testLabels.name), 20);
    expect(() => loadFashionMnist(root, path.join(tmp, 'no-system'))).toThrow(
      /t10k-labels-idx1-ubyte\.gz cannot be decompressed .*: delete it and run npm run data -- fetch fashion-mnist/,
    );
  });

  it('verify checks the decompressed content of each file against the official md5, and the counts', async () => {
    const dir = path.join(tmp, 'served');
    const problems = await verifyFashionMnist(dir);
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/t10k-labels-idx1-ubyte\.gz: .* the official one 15d484375f8d13e6eb1aabb0c3f46965 and 10008/);
    expect(problems[0]).toMatch(
      /train-images-idx3-ubyte\.gz: content \(decompressed\) has md5 [0-9a-f]{32} and 15696 bytes, the official one f4a8712d7a061bf5bd6d2ca38dc4d50a and 47040016/,
    );
    const gappy = path.join(tmp, 'gappy');
    fakeCopy(gappy);
    fs.rmSync(path.join(gappy, testImages.name));
    expect(await verifyFashionMnist(gappy)).toContain(`missing ${path.join(gappy, testImages.name)}`);
    const small = await verifyFashionMnist(dir, loadFashionMnist(path.join(tmp, 'served-root'), dir));
    expect(small.slice(0, 2)).toEqual([
      'train split has 20 images, the official one 60000',
      'test split has 10 images, the official one 10000',
    ]);
  });

  it('md5Content hashes what a .gz holds, and a plain file as it is', async () => {
    const gz = path.join(tmp, 'served', trainLabels.name);
    const content = gunzipSync(fs.readFileSync(gz));
    expect(await md5Content(gz)).toEqual({ md5: md5(content), bytes: content.length });
    const plain = path.join(tmp, 'content-plain');
    fs.writeFileSync(plain, content);
    expect(await md5Content(plain)).toEqual({ md5: md5(content), bytes: content.length });
    fs.writeFileSync(`${plain}.gz`, content); // not gzip at all
    await expect(md5Content(`${plain}.gz`)).rejects.toThrow(/content-plain\.gz cannot be decompressed/);
    await expect(md5Content(path.join(tmp, 'nothing.gz'))).rejects.toThrow(/missing .*nothing\.gz/);
  });
});

describe('Fashion-MNIST: fetching the four files', () => {
  it('downloads each file, checks its md5, and the loader reads the result', async () => {
    const root = path.join(tmp, 'fetch1');
    const seen = new Set<string>();
    const dir = await fetchFiles(fixtureSpec(), root, (file) => seen.add(file));
    expect(dir).toBe(path.join(root, FASHION_MNIST_DIR));
    expect(fs.readdirSync(dir).sort()).toEqual([...NAMES].sort()); // no .partial left
    expect([...seen]).toEqual(NAMES);
    for (const n of NAMES) expect(fs.readFileSync(path.join(dir, n)).equals(served.get(`/mirror/${n}`)!)).toBe(true);
    expect(loadFashionMnist(root, path.join(tmp, 'no-system')).train.size).toBe(20);
    // Fetched again: checked, not downloaded again.
    const before = requests.length;
    await fetchFiles(fixtureSpec(), root);
    expect(requests.length).toBe(before);
  });

  it('resumes a partial file with a byte range, and finishes a complete one', async () => {
    const root = path.join(tmp, 'fetch2');
    const dir = path.join(root, FASHION_MNIST_DIR);
    fs.mkdirSync(dir, { recursive: true });
    const body = served.get(`/mirror/${trainImages.name}`)!;
    const half = Math.floor(body.length / 2);
    fs.writeFileSync(path.join(dir, `${trainImages.name}.partial`), body.subarray(0, half));
    fs.writeFileSync(path.join(dir, `${testLabels.name}.partial`), served.get(`/mirror/${testLabels.name}`)!);
    await fetchFiles(fixtureSpec(), root);
    expect(requests).toContainEqual({ url: `/mirror/${trainImages.name}`, range: `bytes=${half}-` });
    expect(fs.readFileSync(path.join(dir, trainImages.name)).equals(body)).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual([...NAMES].sort());
    expect(loadFashionMnist(root, path.join(tmp, 'no-system')).test.size).toBe(10);
  });

  it('a wrong md5 or size: nothing is left where the loader looks, and the next fetch starts afresh', async () => {
    const root = path.join(tmp, 'fetch3');
    const dir = path.join(root, FASHION_MNIST_DIR);
    await expect(fetchFiles(fixtureSpec({ [trainLabels.name]: { md5: '0'.repeat(32) } }), root)).rejects.toThrow(
      /train-labels-idx1-ubyte\.gz gave a file with md5 [0-9a-f]{32}, expected 0{32}: the download is corrupt; it was deleted, fetch again/,
    );
    expect(fs.readdirSync(dir)).toEqual([trainImages.name]); // the first file, verified; no partial of the second
    await expect(fetchFiles(fixtureSpec({ [testImages.name]: { bytes: 5 } }), root)).rejects.toThrow(
      /t10k-images-idx3-ubyte\.gz gave \d+ bytes, expected 5/,
    );
    expect(fs.existsSync(path.join(dir, testImages.name))).toBe(false);
    await fetchFiles(fixtureSpec(), root);
    expect(fs.readdirSync(dir).sort()).toEqual([...NAMES].sort());
  });

  it('a damaged file already there is reported, not trusted', async () => {
    const root = path.join(tmp, 'fetch4');
    await fetchFiles(fixtureSpec(), root);
    const file = path.join(root, FASHION_MNIST_DIR, testLabels.name);
    fs.writeFileSync(file, 'garbage');
    await expect(fetchFiles(fixtureSpec(), root)).rejects.toThrow(
      /t10k-labels-idx1-ubyte\.gz is 7 bytes, expected \d+: delete it and fetch again/,
    );
  });

  it('reports HTTP errors', async () => {
    await expect(fetchFiles({ ...fixtureSpec(), baseUrl: `${base}/nowhere` }, path.join(tmp, 'fetch5'))).rejects.toThrow(/HTTP 404/);
  });

  it('npm run data -- fetch fashion-mnist --url MIRROR checks the published size and md5', async () => {
    const root = path.join(tmp, 'cli-fetch');
    // Asynchronous child: this process's event loop must keep serving it.
    const child = spawn(TSX, ['bench/data.ts', 'fetch', 'fashion-mnist', '--url', `${base}/sized`, '--dir', root], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status).toBe(1); // the download failed; the command was right (2 is for bad usage)
    expect(stderr).toMatch(
      /sized\/train-images-idx3-ubyte\.gz gave a file with md5 [0-9a-f]{32}, expected 8d4fb7e6c68d591d4c3dfef9ec88bf0d: the download is corrupt/,
    );
    expect(requests).toContainEqual({ url: `/sized/${trainImages.name}`, range: undefined });
    expect(fs.readdirSync(path.join(root, FASHION_MNIST_DIR))).toEqual([]);
  });
});

const debian = NAMES.every((n) => fs.existsSync(path.join(FASHION_MNIST_SYSTEM_DIR, n)));

const DEBIAN_COPY = requires("Debian's Fashion-MNIST", debian, 'apt-get install dataset-fashion-mnist');

DEBIAN_COPY.describe("Fashion-MNIST: Debian's copy", () => {
  it('loads without a flag when the data root has none: 60000/10000, 28x28x1, balanced classes', async () => {
    const ds = await loadDataset('fashion-mnist', path.join(tmp, 'empty-root'));
    expect(ds.name).toBe('fashion-mnist');
    expect([ds.train.size, ds.test.size]).toEqual([60000, 10000]);
    expect(ds.imageShape).toEqual([28, 28, 1]);
    expect(classCounts(ds.train.labels, 10)).toEqual(new Array(10).fill(6000));
    expect(classCounts(ds.test.labels, 10)).toEqual(new Array(10).fill(1000));
    // The first training image (an ankle boot, label 9) has ink on a black background.
    expect(ds.train.labels[0]).toBe(9);
    const img = ds.train.readImages([0]);
    expect(img.length).toBe(784);
    expect(img[0]).toBe(0);
    expect(Math.max(...img)).toBeGreaterThan(200);
  });

  it('verifies by content md5 (its .gz files are not the published ones), in place or copied', async () => {
    const { problems, dir } = await verifyDataset('fashion-mnist', path.join(tmp, 'empty-root'));
    expect(problems).toEqual([]);
    expect(dir).toBe(FASHION_MNIST_SYSTEM_DIR);
    expect(await md5Content(path.join(FASHION_MNIST_SYSTEM_DIR, trainImages.name))).toEqual({
      md5: trainImages.contentMd5,
      bytes: trainImages.contentBytes,
    });
    // Copied into a data root: used from there, verifies, and fetch accepts it without downloading.
    const root = path.join(tmp, 'copied');
    fs.mkdirSync(path.join(root, FASHION_MNIST_DIR), { recursive: true });
    for (const n of NAMES) fs.copyFileSync(path.join(FASHION_MNIST_SYSTEM_DIR, n), path.join(root, FASHION_MNIST_DIR, n));
    const copied = await verifyDataset('fashion-mnist', root);
    expect(copied.problems).toEqual([]);
    expect(copied.dir).toBe(path.join(root, FASHION_MNIST_DIR));
    await expect(fetchFiles({ ...FASHION_MNIST_FETCH, baseUrl: `${base}/nowhere` }, root)).resolves.toBe(
      path.join(root, FASHION_MNIST_DIR),
    );
  });

  it('npm run data -- verify and inspect report it', async () => {
    const run = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string }>((resolve) => {
        const child = spawn(TSX, ['bench/data.ts', ...args], {
          cwd: ROOT,
          env: { ...process.env, SSL_BENCH_DATA: path.join(tmp, 'empty-root') },
        });
        let stdout = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.on('close', (status) => resolve({ status, stdout }));
      });
    const verify = await run(['verify', 'fashion-mnist', '--json']);
    expect(verify.status).toBe(0);
    // The data root has no copy: both name the one they read, and say it is the fallback.
    const fallback = `the data root ${path.join(tmp, 'empty-root')} has no copy; this is Debian's dataset-fashion-mnist package`;
    expect(JSON.parse(verify.stdout)).toEqual({
      dataset: 'fashion-mnist',
      ok: true,
      problems: [],
      dir: FASHION_MNIST_SYSTEM_DIR,
      fallback,
    });
    const inspect = await run(['inspect', 'fashion-mnist', '--json']);
    expect(inspect.status).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({
      dataset: 'fashion-mnist',
      train: 60000,
      test: 10000,
      classes: 10,
      image_shape: [28, 28, 1],
      class_counts: { train: new Array(10).fill(6000), test: new Array(10).fill(1000) },
      dir: FASHION_MNIST_SYSTEM_DIR,
      fallback,
    });
    const text = await run(['inspect', 'fashion-mnist']);
    expect(text.stdout).toContain(`  read from ${FASHION_MNIST_SYSTEM_DIR} (${fallback})\n`);
  });
});
