/**
 * manifest.json: written by writeManifest at the current version, read by readManifest only, which checks it,
 * reads a manifest of the code before versions (version 0) as the current version, and names the file, the
 * cause and the fix for anything else.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptFileError } from '../src/results/disk.js';
import {
  MANIFEST_VERSION,
  type ManifestContent,
  ManifestError,
  manifestPath,
  readManifest,
  writeManifest,
} from '../src/results/manifest.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-manifest-'));

/** What src/runner/run.ts writes, in small. */
function content(): ManifestContent {
  return {
    run_id: '20261201-120000-tiny',
    started: '2026-12-01T12:00:00.000Z',
    last_started: '2026-12-01T12:30:00.000Z',
    argv: ['--suite=tiny'],
    suite: { name: 'tiny', evaluation: { targets: { synthetic: [0.5] }, targetGaps: [0.05] } },
    trials: [
      { id: 'a1', label: 'simclr', dataset: 'synthetic', backbone: 'resnet-small', budget: { kind: 'steps', amount: 4 }, seed: 0 },
      { id: 'b2', label: 'simclr', dataset: 'synthetic', backbone: 'resnet-small', budget: { kind: 'steps', amount: 4 }, seed: 1 },
    ],
    provenance: { node: 'v22.0.0', backend: 'wasm', git: { commit: null, dirty: null } },
    rules: { training_flops: '3 x forward FLOPs', memory: { step_peak_bytes: 'tf.profile peak' }, time: 'wall-clock' },
    departures: { simclr: ['batch 8 images (source 256)'] },
  };
}

/** Writes `json` as dir/manifest.json (as the code before versions, or a hand, or another tool would). */
function write(json: unknown): string {
  const dir = tmp();
  fs.writeFileSync(manifestPath(dir), typeof json === 'string' ? json : `${JSON.stringify(json, null, 2)}\n`);
  return dir;
}

const failure = (dir: string): ManifestError => {
  try {
    readManifest(dir);
  } catch (e) {
    return e as ManifestError;
  }
  throw new Error('readManifest did not throw');
};

describe('manifest.json', () => {
  it('is written at the current version with the content as given, and read back the same', () => {
    const dir = tmp();
    const written = writeManifest(dir, content());
    expect(written).toEqual({ version: 1, ...content() });
    expect(MANIFEST_VERSION).toBe(1);
    // On disk: the fields as before, plus version, pretty-printed with a final newline.
    const text = fs.readFileSync(manifestPath(dir), 'utf8');
    expect(text).toBe(`${JSON.stringify({ version: 1, ...content() }, null, 2)}\n`);
    expect(readManifest(dir)).toEqual(written);
    expect(fs.readdirSync(dir)).toEqual(['manifest.json']);
  });

  it('a directory without one reads as null', () => {
    expect(readManifest(tmp())).toBeNull();
  });

  it('reads a manifest without a version (the code before versions) as version 1; departures may be absent, a stale suite_key is dropped', () => {
    const { departures, ...old } = content();
    const before = { ...old, departures };
    expect(readManifest(write(before))).toEqual({ version: 1, ...content() });
    // Older still: no departures yet, and the suite key stored beside the suite.
    expect(readManifest(write({ ...old, suite_key: '{"name":"tiny"}' }))).toEqual({ version: 1, ...old, departures: {} });
    // The suite is kept whole (resume compares all of it), fields this reader does not type included.
    const suite = { ...old.suite, file: null, seeds: [0, 1], evaluation: { targets: {} } };
    expect(readManifest(write({ ...before, suite }))?.suite).toEqual(suite);
  });

  it('a version-1 manifest must have its departures', () => {
    const { departures: _, ...rest } = content();
    expect(() => readManifest(write({ version: 1, ...rest }))).toThrow(
      /manifest\.json is not a run manifest this code can read: departures is missing/,
    );
  });

  it('refuses a newer version, naming the file, the cause and the fix', () => {
    const dir = write({ version: 2, ...content() });
    expect(() => readManifest(dir)).toThrow(
      new RegExp(
        `^${manifestPath(dir)} is manifest version 2, newer than this code reads \\(1\\): a newer ssl-budget-bench wrote it; update this checkout`,
      ),
    );
    expect(() => readManifest(write({ version: '1', ...content() }))).toThrow(
      /manifest\.json: version is "1", not a manifest version \(0 to 1\)/,
    );
    expect(() => readManifest(write({ version: 0.5, ...content() }))).toThrow(/version is 0.5, not a manifest version/);
  });

  it('names a file that is not JSON, with its fix', () => {
    const dir = write('{"run_id": "x", "tri');
    expect(() => readManifest(dir)).toThrow(new RegExp(`^${manifestPath(dir)} is not valid JSON .*restore it from a copy`));
  });

  it("names another tool's manifest.json as not a run manifest", () => {
    for (const [json, what] of [
      [{ name: 'my-app', icons: [], start_url: '/' }, 'no run_id and no trials'],
      [[{ run_id: 'x' }], 'a JSON array, not an object'],
      ['"text"', 'a JSON string, not an object'],
      ['null', 'a JSON null, not an object'],
    ] as const) {
      const dir = write(json);
      expect(() => readManifest(dir), what).toThrow(
        `${manifestPath(dir)} is not a run manifest of ssl-budget-bench (${what}): another tool's file, or not a run directory; ` +
          'give the directory that npm run bench printed',
      );
    }
  });

  it('names the first damaged field (where, what it holds, what was expected) and the fix', () => {
    const cases: [(m: Record<string, unknown>) => void, RegExp][] = [
      [(m) => delete m.rules, /: rules is missing \(expected an object\)/],
      [(m) => delete m.run_id, /: run_id is missing \(expected a string\)/],
      [(m) => ((m.trials as Record<string, unknown>[])[1].seed = '1'), /: trials\[1\]\.seed is string "1", expected a number/],
      [(m) => ((m.trials as unknown[])[0] = 'a1'), /: trials\[0\] is string "a1", expected an object/],
      [(m) => (m.trials = {}), /: trials is object \{\}, expected an array/],
      [(m) => ((m.trials as Record<string, unknown>[])[0].budget = { kind: 'steps' }), /: trials\[0\]\.budget\.amount is missing/],
      [(m) => (m.argv = ['--suite', 3]), /: argv\[1\] is number 3, expected a string/],
      [(m) => ((m.suite as { evaluation: unknown }).evaluation = null), /: suite\.evaluation is null null, expected an object/],
      [(m) => ((m.suite as { name: unknown }).name = 42), /: suite\.name is number 42, expected a string/],
      [(m) => (m.departures = { simclr: 'batch 8' }), /: departures\.simclr is string "batch 8", expected an array/],
      [(m) => (m.rules = { training_flops: 'x', time: 'y', memory: { a: 1 } }), /: rules\.memory\.a is number 1, expected a string/],
    ];
    for (const [damage, message] of cases) {
      const m = JSON.parse(JSON.stringify({ version: 1, ...content() }));
      damage(m);
      const dir = write(m);
      const e = failure(dir);
      expect(e.message, message.source).toMatch(message);
      expect(e.message.startsWith(`${manifestPath(dir)} is not a run manifest this code can read: `)).toBe(true);
      expect(e.message).toMatch(
        /; it is rewritten whole on every start, so it was edited or damaged: restore it from a copy, or start a new run with another --out$/,
      );
    }
  });

  it('shortens a long value in the message', () => {
    const m = { version: 1, ...content(), run_id: ['x'.repeat(100)] };
    expect(failure(write(m)).message).toMatch(/run_id is array \["x{35}\.\.\., expected a string/);
  });

  it('its errors are CorruptFileErrors (the command line prints them without a stack) carrying the file', () => {
    const dir = write({ version: 9 });
    const e = failure(dir);
    expect(e).toBeInstanceOf(ManifestError);
    expect(e).toBeInstanceOf(CorruptFileError);
    expect(e.file).toBe(manifestPath(dir));
  });
});
