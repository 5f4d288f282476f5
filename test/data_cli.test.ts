import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CIFAR10_DIR } from '../datasets/cifar.js';
import { cifarRecords, fakeCifar10 } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-data-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const data = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(TSX, ['bench/data.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });

describe('npm run data', () => {
  it('inspect --json describes the synthetic set (built on demand under $SSL_BENCH_DATA)', () => {
    const r = data(['inspect', 'synthetic', '--json'], { SSL_BENCH_DATA: tmp });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ dataset: 'synthetic', train: 5000, test: 1000, classes: 10, image_shape: [32, 32, 1] });
    expect(report.class_counts.train).toEqual(new Array(10).fill(500));
  });

  it('verify flags a copy that is not the official one, with exit 1', () => {
    const copy = fakeCifar10(path.join(tmp, 'small'), cifarRecords(20), cifarRecords(10, 100));
    const r = data(['verify', 'cifar10', '--dir', copy, '--json']);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(false);
    expect(report.problems.join('\n')).toMatch(/missing .*data_batch_2\.bin/);
    expect(report.problems.join('\n')).toMatch(/train split has 20 images, the official one 50000/);
    expect(fs.existsSync(path.join(copy, CIFAR10_DIR))).toBe(true);
  });

  it('verify lists every problem of a copy that does not load, with exit 1 (not the usage code)', () => {
    const copy = fakeCifar10(path.join(tmp, 'torn'), cifarRecords(20), cifarRecords(10, 100));
    const testBatch = path.join(copy, CIFAR10_DIR, 'test_batch.bin');
    fs.truncateSync(testBatch, fs.statSync(testBatch).size - 100);
    const r = data(['verify', 'cifar10', '--dir', copy]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/cifar10: 5 problem\(s\)/);
    expect(r.stdout).toMatch(/test_batch\.bin is \d+ bytes, not a whole number of 3073-byte records/);
    for (const i of [2, 3, 4, 5]) expect(r.stdout).toContain(`missing ${path.join(copy, CIFAR10_DIR, `data_batch_${i}.bin`)}`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('a --url that is not an address, or names a folder for an archive, is refused before downloading (exit 2)', () => {
    const notUrl = data(['fetch', 'cifar10', '--dir', tmp, '--url=notaurl']);
    expect(notUrl.status).toBe(2);
    expect(notUrl.stderr).toMatch(/--url=notaurl is not an address; write it in full/);
    const folder = data(['fetch', 'cifar10', '--dir', tmp, '--url=http://127.0.0.1:9/mirror/']);
    expect(folder.status).toBe(2);
    expect(folder.stderr).toMatch(/names a folder; name the archive file itself \(…\/cifar-10-binary\.tar\.gz\)/);
  });

  it('bad commands and names fail with exit 2 and say what is valid', () => {
    const mnist = data(['inspect', 'mnist']);
    expect(mnist.status).toBe(2);
    expect(mnist.stderr).toMatch(
      /unknown dataset "mnist"; valid: synthetic, cifar10, cifar100, cifar100-coarse, tinyimagenet, imagenet100/,
    );
    expect(data(['fetch', 'synthetic']).stderr).toMatch(/cannot fetch "synthetic"/);
    const r = data(['explode', 'cifar10']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command "explode"; valid: fetch, verify, inspect, prepare/);
    expect(data(['inspect', 'cifar10', '--dir', path.join(tmp, 'none')]).stderr).toMatch(/no CIFAR-10 at .*npm run data -- fetch cifar10/);
  });
});
