/**
 * What tests need from outside the repository: system dependencies (skipped with their reason off CI, a failure
 * under CI) and reference data (the project's own fixtures; ../shared/reference only as an independent check).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, type TestFunction } from 'vitest';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The project's reference values, made by bench/parity/make_reference.py (baselines.json: a copied citation table). */
export const FIXTURE_REFERENCE_DIR = path.join(HERE, 'fixtures', 'reference');

/** ../shared/reference beside the repository, where there is one: the copy the project's fixtures are checked against. */
export const SHARED_REFERENCE_DIR = path.resolve(HERE, '..', '..', 'shared', 'reference');
export const HAS_SHARED_REFERENCE = fs.existsSync(path.join(SHARED_REFERENCE_DIR, 'README.md'));

/** A file of the project's reference fixtures, parsed (`losses/vicreg.json`, `flops.json`, ...). */
export function readFixture<T>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE_REFERENCE_DIR, name), 'utf8')) as T;
}

/** The same file in ../shared/reference (only where HAS_SHARED_REFERENCE). */
export function readSharedReference<T>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(SHARED_REFERENCE_DIR, name), 'utf8')) as T;
}

/**
 * A folder of the project's loss fixtures that a loss checker can run whole: the fixture folder itself when every
 * fixture's method is among `known` (the registered reference losses), else a copy in `scratch` without the others
 * (a fixture may come before its method's loss: losses.test.ts reports those as skipped).
 */
export function lossFixtureDir(known: readonly string[], scratch: string): { dir: string; files: string[] } {
  const source = path.join(FIXTURE_REFERENCE_DIR, 'losses');
  const all = fs
    .readdirSync(source)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const files = all.filter((f) => known.includes(readFixture<{ method: string }>(`losses/${f}`).method));
  if (files.length === all.length) return { dir: source, files };
  fs.mkdirSync(scratch, { recursive: true });
  for (const f of files) fs.copyFileSync(path.join(source, f), path.join(scratch, f));
  return { dir: scratch, files };
}

/** Whether /usr/bin/python3 imports every module named (Debian's python3-torch, python3-torchvision, ...). */
export function pythonImports(...modules: string[]): boolean {
  return (
    spawnSync('/usr/bin/python3', ['-c', modules.map((m) => `import ${m}`).join('; ')], { stdio: 'ignore', timeout: 60_000 }).status === 0
  );
}

/** `it`, `it.each` and `describe`, for tests that need one dependency. */
export interface Required {
  (title: string, fn: TestFunction, timeout?: number): void;
  each<T>(cases: readonly T[]): (title: string, fn: (c: T) => unknown, timeout?: number) => void;
  describe(title: string, fn: () => void): void;
  available: boolean;
  /** What is missing and how to get it ('' when available). */
  reason: string;
}

/**
 * Tests that need `name` (`available`: whether it is here; `why`: how to get it). Where it is here they are plain
 * `it` / `describe`. Where it is not, they are reported as SKIPPED with the reason in their titles, never as passed;
 * under CI (process.env.CI), whose .ci/run installs every such dependency, they FAIL with the reason instead, unless
 * `ci: 'skip'` (for what CI does not install, or what is not a system package, such as ../shared).
 *
 *   const ONEDNN = requires('the oneDNN native addon', loaded, 'apt-get install libdnnl-dev, then npm ci');
 *   ONEDNN('matches the wasm kernels', () => { ... });
 *   ONEDNN.each(cases)('case $k', (c) => { ... });
 *   ONEDNN.describe('oneDNN kernels', () => { ... });
 */
export function requires(name: string, available: boolean, why: string, options: { ci?: 'fail' | 'skip' } = {}): Required {
  const reason = available ? '' : `needs ${name}: ${why}`;
  let required: Required;
  if (available) {
    required = Object.assign((title: string, fn: TestFunction, timeout?: number) => it(title, fn, timeout), {
      each: <T>(cases: readonly T[]) =>
        it.each(cases as T[]) as unknown as (title: string, fn: (c: T) => unknown, timeout?: number) => void,
      describe: (title: string, fn: () => void) => describe(title, fn),
      available,
      reason,
    });
  } else if (process.env.CI && (options.ci ?? 'fail') === 'fail') {
    const fail = () => {
      throw new Error(`${reason} (CI must run this test: .ci/run installs what it needs)`);
    };
    required = Object.assign((title: string) => it(title, fail), {
      each:
        <T>(cases: readonly T[]) =>
        (title: string) =>
          it.each(cases as T[])(title, fail),
      describe: (title: string) => describe(title, () => it('has what it needs', fail)),
      available,
      reason,
    });
  } else {
    const skipped = (title: string) => `${title} (skipped: ${reason})`;
    required = Object.assign((title: string, fn: TestFunction) => it.skip(skipped(title), fn), {
      each:
        <T>(cases: readonly T[]) =>
        (title: string, fn: (c: T) => unknown) =>
          it.skip.each(cases as T[])(skipped(title), fn as (c: T) => void),
      describe: (title: string, fn: () => void) => describe.skip(skipped(title), fn),
      available,
      reason,
    });
  }
  return required;
}
