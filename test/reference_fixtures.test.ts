/**
 * The project's reference fixtures (test/fixtures/reference): what bench/parity/make_reference.py makes from them
 * again (PyTorch, float64), and, where ../shared/reference sits beside the repository, the same values as that
 * independent copy. The tests that use the fixtures (losses, flops, augment_ops, baselines_config, selfcheck_cli,
 * nightly) read the project's copy only, so a clone without ../shared passes.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { relativeError } from './helpers.js';
import {
  FIXTURE_REFERENCE_DIR,
  HAS_SHARED_REFERENCE,
  pythonImports,
  readFixture,
  readSharedReference,
  requires,
  SHARED_REFERENCE_DIR,
} from './requirements.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SCRIPT = path.join(ROOT, 'bench', 'parity', 'make_reference.py');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-reference-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Tensor {
  shape: number[];
  data: number[];
}
interface LossFixture {
  name: string;
  method: string;
  note: string;
  params: Record<string, number>;
  inputs: Record<string, Tensor>;
  expected: { loss: number; terms: Record<string, number | Tensor>; grad: Record<string, Tensor> };
  tolerance: { loss_rel: number; grad_rel: number };
}

const lossFiles = (dir: string) =>
  fs
    .readdirSync(path.join(dir, 'losses'))
    .filter((f) => f.endsWith('.json'))
    .sort();
const values = (v: number | Tensor) => (typeof v === 'number' ? [v] : v.data);

/**
 * Two computations of one loss fixture (the project's and another float64 PyTorch run): the same description and
 * inputs exactly, the same expected values up to float64 rounding (a few 1e-14 relative where they are not identical).
 */
function expectSameLossFixture(got: LossFixture, want: LossFixture) {
  const { expected: gotExpected, ...gotRest } = got;
  const { expected: wantExpected, ...wantRest } = want;
  expect(gotRest).toEqual(wantRest);
  expect(relativeError([gotExpected.loss], [wantExpected.loss])).toBeLessThan(1e-12);
  expect(Object.keys(gotExpected.terms).sort()).toEqual(Object.keys(wantExpected.terms).sort());
  for (const [k, v] of Object.entries(wantExpected.terms))
    expect(relativeError(values(gotExpected.terms[k]), values(v)), k).toBeLessThan(1e-12);
  expect(Object.keys(gotExpected.grad).sort()).toEqual(Object.keys(wantExpected.grad).sort());
  for (const [k, v] of Object.entries(wantExpected.grad)) {
    expect(gotExpected.grad[k].shape, k).toEqual(v.shape);
    expect(relativeError(gotExpected.grad[k].data, v.data), k).toBeLessThan(1e-12);
  }
}

describe("the project's reference fixtures", () => {
  it('has the loss fixtures, flops.json, augment.json and baselines.json, and a README saying where each came from', () => {
    expect(lossFiles(FIXTURE_REFERENCE_DIR).length).toBeGreaterThanOrEqual(9);
    for (const f of ['flops.json', 'augment.json', 'baselines.json', 'README.md'])
      expect(fs.existsSync(path.join(FIXTURE_REFERENCE_DIR, f)), f).toBe(true);
    const mocov2plus = readFixture<LossFixture>('losses/mocov2plus.json');
    expect(mocov2plus.method).toBe('mocov2plus');
    expect(Object.fromEntries(Object.entries(mocov2plus.inputs).map(([k, v]) => [k, v.shape]))).toEqual({
      z: [2, 8, 16],
      zt: [2, 8, 16],
      queue: [2, 32, 16],
    });
    expect(Object.keys(mocov2plus.expected.grad)).toEqual(['z']);
  });

  const TORCH = requires(
    'python3-torch',
    pythonImports('torch'),
    '/usr/bin/python3 cannot import torch (apt-get install -y python3-torch)',
  );
  TORCH('are what bench/parity/make_reference.py computes from their inputs (losses, flops.json)', () => {
    const out = path.join(tmp, 'made');
    const r = spawnSync('/usr/bin/python3', [SCRIPT, '--out', out, '--inputs-from', FIXTURE_REFERENCE_DIR, '--only', 'losses,flops'], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(lossFiles(out)).toEqual(lossFiles(FIXTURE_REFERENCE_DIR));
    for (const f of lossFiles(out))
      expectSameLossFixture(readFixture<LossFixture>(`losses/${f}`), JSON.parse(fs.readFileSync(path.join(out, 'losses', f), 'utf8')));
    expect(readFixture('flops.json')).toEqual(JSON.parse(fs.readFileSync(path.join(out, 'flops.json'), 'utf8')));
  });

  // .ci/run installs python3-torchvision, so CI runs this one.
  const TORCHVISION = requires(
    'python3-torchvision',
    pythonImports('torch', 'torchvision'),
    '/usr/bin/python3 cannot import torchvision (apt-get install -y python3-torchvision)',
  );
  TORCHVISION('augment.json is what bench/parity/make_reference.py computes with torchvision', () => {
    const out = path.join(tmp, 'augment');
    const r = spawnSync('/usr/bin/python3', [SCRIPT, '--out', out, '--only', 'augment'], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(readFixture('augment.json')).toEqual(JSON.parse(fs.readFileSync(path.join(out, 'augment.json'), 'utf8')));
  });
});

// An independent check, not a source: the project's tests never read ../shared.
const SHARED = requires('../shared/reference', HAS_SHARED_REFERENCE, `no ${SHARED_REFERENCE_DIR} beside this checkout to check against`, {
  ci: 'skip',
});
SHARED.describe("the project's reference fixtures against ../shared/reference", () => {
  const shared = HAS_SHARED_REFERENCE ? lossFiles(SHARED_REFERENCE_DIR) : [];

  it('has every shared loss fixture (and mocov2plus.json, which only the project has)', () => {
    expect(shared.filter((f) => !lossFiles(FIXTURE_REFERENCE_DIR).includes(f))).toEqual([]);
    expect(lossFiles(FIXTURE_REFERENCE_DIR).filter((f) => !shared.includes(f))).toEqual(['mocov2plus.json']);
  });

  it.each(shared)('losses/%s: same inputs, parameters and tolerances; same values up to float64 rounding', (f) => {
    expectSameLossFixture(readFixture<LossFixture>(`losses/${f}`), readSharedReference<LossFixture>(`losses/${f}`));
  });

  it.each(['flops.json', 'augment.json', 'baselines.json'])('%s: identical', (f) => {
    expect(readFixture(f)).toEqual(readSharedReference(f));
  });
});
