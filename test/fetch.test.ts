import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import yazl from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIFAR10_DIR, loadCifar10 } from '../datasets/cifar.js';
import { extractTarGz, extractZip, fetchArchive, type ArchiveSpec } from '../datasets/fetch.js';
import { cifarRecords, fakeCifar10 } from './helpers.js';

/**
 * The download path against a real HTTP server on 127.0.0.1 serving archives this test builds
 * (a tiny CIFAR-10-format copy), with byte-range support so resuming is exercised.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-fetch-'));
const files = new Map<string, Buffer>();
const rangeRequests: string[] = [];
let server: http.Server;
let base = '';

beforeAll(async () => {
  // A small CIFAR-10-format dataset, packed as the official archive is.
  const src = fakeCifar10(path.join(tmp, 'src'), cifarRecords(20), cifarRecords(10, 100));
  await tar.c({ gzip: true, file: path.join(tmp, 'good.tar.gz'), cwd: src }, [CIFAR10_DIR]);
  files.set('/cifar-10-binary.tar.gz', fs.readFileSync(path.join(tmp, 'good.tar.gz')));
  // Hostile archives: an entry climbing out, and a symlink.
  const evil = path.join(tmp, 'evil', 'inner');
  fs.mkdirSync(evil, { recursive: true });
  fs.writeFileSync(path.join(tmp, 'evil', 'escape.txt'), 'x');
  await tar.c({ gzip: true, file: path.join(tmp, 'climb.tar.gz'), cwd: evil, preservePaths: true }, ['../escape.txt']);
  fs.mkdirSync(path.join(tmp, 'links', CIFAR10_DIR), { recursive: true });
  fs.symlinkSync('/etc/passwd', path.join(tmp, 'links', CIFAR10_DIR, 'batches.meta.txt'));
  await tar.c({ gzip: true, file: path.join(tmp, 'link.tar.gz'), cwd: path.join(tmp, 'links') }, [CIFAR10_DIR]);

  // Zip archives (Tiny-ImageNet's format): a good one and one holding a symbolic link.
  const zipOf = (entries: [string, string, number?][]) =>
    new Promise<Buffer>((resolve) => {
      const z = new yazl.ZipFile();
      for (const [name, body, mode] of entries) z.addBuffer(Buffer.from(body), name, mode ? { mode } : {});
      const chunks: Buffer[] = [];
      z.outputStream.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks)));
      z.end();
    });
  files.set(
    '/tiny.zip',
    await zipOf([
      ['tiny-imagenet-200/wnids.txt', 'n01\n'],
      ['tiny-imagenet-200/train/n01/images/a.txt', 'x'],
    ]),
  );
  fs.writeFileSync(path.join(tmp, 'link.zip'), await zipOf([['tiny-imagenet-200/evil', '/etc/passwd', 0o120777]]));

  server = http.createServer((req, res) => {
    const body = files.get(req.url ?? '');
    if (req.url === '/dropped.tar.gz') {
      // Half the archive, then the connection drops (as a flaky network does).
      const whole = files.get('/cifar-10-binary.tar.gz')!;
      res.writeHead(200, { 'content-length': whole.length });
      res.write(whole.subarray(0, whole.length >> 1), () => res.socket?.destroy());
      return;
    }
    if (req.url === '/moved') {
      res.writeHead(302, { location: '/cifar-10-binary.tar.gz' }).end();
      return;
    }
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    if (range) {
      rangeRequests.push(req.headers.range!);
      const start = Number(range[1]);
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(body.subarray(start));
    } else {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function specFor(urlPath: string): ArchiveSpec {
  const body = files.get('/cifar-10-binary.tar.gz')!;
  return {
    url: `${base}${urlPath}`,
    format: 'tar.gz',
    bytes: body.length,
    md5: createHash('md5').update(body).digest('hex'),
    extractsTo: CIFAR10_DIR,
  };
}

describe('fetching an archive', () => {
  it('downloads (following a redirect), verifies, extracts, and the loader reads it', async () => {
    const root = path.join(tmp, 'root1');
    const seen: number[] = [];
    const dir = await fetchArchive(specFor('/moved'), root, (received) => seen.push(received));
    expect(dir).toBe(path.join(root, CIFAR10_DIR));
    expect(seen.at(-1)).toBe(files.get('/cifar-10-binary.tar.gz')!.length);
    const ds = loadCifar10(root);
    expect([ds.train.size, ds.test.size]).toEqual([20, 10]);
    expect(fs.readdirSync(root).filter((f) => f.startsWith('.extract-') || f.endsWith('.partial'))).toEqual([]);
  });

  it('resumes a partial download with a byte range', async () => {
    const root = path.join(tmp, 'root2');
    fs.mkdirSync(root, { recursive: true });
    const body = files.get('/cifar-10-binary.tar.gz')!;
    const half = Math.floor(body.length / 2);
    fs.writeFileSync(path.join(root, 'cifar-10-binary.tar.gz.partial'), body.subarray(0, half));
    await fetchArchive(specFor('/cifar-10-binary.tar.gz'), root);
    expect(rangeRequests).toContain(`bytes=${half}-`);
    expect(loadCifar10(root).train.size).toBe(20);
  });

  it('rejects a checksum mismatch and leaves no dataset behind', async () => {
    const root = path.join(tmp, 'root3');
    await expect(fetchArchive({ ...specFor('/cifar-10-binary.tar.gz'), md5: '0'.repeat(32) }, root)).rejects.toThrow(
      /has md5 [0-9a-f]{32}, expected 0{32}: the download is corrupt/,
    );
    expect(fs.existsSync(path.join(root, CIFAR10_DIR))).toBe(false);
  });

  it('reports HTTP errors', async () => {
    await expect(fetchArchive({ ...specFor('/missing.tar.gz') }, path.join(tmp, 'root4'))).rejects.toThrow(/HTTP 404/);
  });

  it('a connection dropped mid-way keeps what came and says to run again, which resumes', async () => {
    const root = path.join(tmp, 'root5');
    const dropped = fetchArchive(specFor('/dropped.tar.gz'), root);
    await expect(dropped).rejects.toThrow(
      /^download of \S+\/dropped\.tar\.gz was cut off at \d+ of \d+ bytes.*; run the command again to resume$/,
    );
    const partial = path.join(root, 'dropped.tar.gz.partial');
    expect(fs.statSync(partial).size).toBeGreaterThan(0);
  });

  it('fetches and extracts zip archives', async () => {
    const body = files.get('/tiny.zip')!;
    const spec: ArchiveSpec = {
      url: `${base}/tiny.zip`,
      format: 'zip',
      bytes: body.length,
      md5: createHash('md5').update(body).digest('hex'),
      extractsTo: 'tiny-imagenet-200',
    };
    const dir = await fetchArchive(spec, path.join(tmp, 'root6'));
    expect(fs.readFileSync(path.join(dir, 'wnids.txt'), 'utf8')).toBe('n01\n');
    expect(fs.readFileSync(path.join(dir, 'train', 'n01', 'images', 'a.txt'), 'utf8')).toBe('x');
    await expect(extractZip(path.join(tmp, 'link.zip'), path.join(tmp, 'root7'), 'tiny-imagenet-200')).rejects.toThrow(
      /refusing to extract .*evil is a symbolic link/,
    );
    expect(fs.existsSync(path.join(tmp, 'root7', 'tiny-imagenet-200'))).toBe(false);
  });

  it('refuses archives with entries outside the target or links', async () => {
    const root = path.join(tmp, 'root5');
    await expect(extractTarGz(path.join(tmp, 'climb.tar.gz'), root, CIFAR10_DIR)).rejects.toThrow(
      /refusing to extract .*\.\.\/escape\.txt leaves the target folder/,
    );
    await expect(extractTarGz(path.join(tmp, 'link.tar.gz'), root, CIFAR10_DIR)).rejects.toThrow(/batches\.meta\.txt is a SymbolicLink/);
    expect(fs.existsSync(path.join(tmp, 'escape.txt'))).toBe(false);
    expect(fs.existsSync(path.join(root, CIFAR10_DIR))).toBe(false);
  });
});
