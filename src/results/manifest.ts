/**
 * A run directory's manifest.json: provenance, the resolved suite, the trial list, the accounting rules and each
 * setting's departures from its source. Written by `writeManifest` (src/runner/run.ts, rewritten whole on every
 * start) and read by `readManifest` only (the runner on resume, merge, reports), which checks its shape.
 *
 * Versions: 1 is the current one. A manifest without `version` (version 0) was written before the field existed,
 * with the same content except that `departures` may be missing (older than departures) and a `suite_key` may
 * be present (older still, and unused): it is read as version 1 with no departures. A manifest with a higher
 * version was written by newer code and is refused with that cause.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Provenance } from '../measure/provenance.js';
import { CorruptFileError } from './disk.js';
import { writeFileAtomic } from './store.js';

export const MANIFEST_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

/** One trial of the run, as the manifest lists it. */
export interface ManifestTrial {
  id: string;
  /** The setting's label (e.g. simclr-x20). */
  label: string;
  dataset: string;
  backbone: string;
  budget: { kind: string; amount: number };
  seed: number;
}

/**
 * The resolved suite (src/runner/suite.ts's Suite, stored whole): typed here by the parts that readers of the
 * manifest use; the runner compares the whole stored suite on resume.
 */
export interface ManifestSuite {
  name: string;
  /** The label the findings compare every other method against (absent in manifests older than the field). */
  reference?: string | null;
  evaluation: {
    /** Dataset -> absolute target accuracies. */
    targets: Record<string, number[]>;
    /** Targets as gaps below the ceiling (absent in manifests older than the field). */
    targetGaps?: number[];
  };
}

/** How the counters are defined (engine/flops.ts, src/measure/memory.ts, the step clock). */
export interface ManifestRules {
  training_flops: string;
  /** Memory figure -> what it measures. */
  memory: Record<string, string>;
  time: string;
}

export interface Manifest {
  version: typeof MANIFEST_VERSION;
  /** The run directory's name. */
  run_id: string;
  /** ISO time of the first start, and of the latest (resume, or another shard). */
  started: string;
  last_started: string;
  argv: string[];
  suite: ManifestSuite;
  /** Every trial of the suite (all shards'), in the run's order. */
  trials: ManifestTrial[];
  /** Where and how the run happened (src/measure/provenance.ts); fields added since may be absent in older runs. */
  provenance: Partial<Provenance>;
  rules: ManifestRules;
  /** Setting label -> where it trains differently from its source (src/runner/departures.ts). */
  departures: Record<string, string[]>;
  /**
   * Every method the harness knows, in its registry's order: reports give each method the same colour in every
   * figure by it. Absent in manifests older than the field.
   */
  method_order?: string[];
}

/** What the writer gives: everything but the version, which writeManifest sets. */
export type ManifestContent = Omit<Manifest, 'version'>;

/** manifest.json holds what this code cannot read; the message names the file, the cause and the fix. */
export class ManifestError extends CorruptFileError {
  override name = 'ManifestError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

export function manifestPath(runDir: string): string {
  return path.join(runDir, MANIFEST_FILE);
}

/** Writes `runDir`/manifest.json atomically, at the current version; returns what it wrote. */
export function writeManifest(runDir: string, content: ManifestContent): Manifest {
  const manifest: Manifest = { version: MANIFEST_VERSION, ...content };
  writeFileAtomic(manifestPath(runDir), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/**
 * The manifest of `runDir`, checked and at the current version (a version-0 manifest upgraded); null when the
 * directory has none. A file that is not JSON, not a manifest of this harness, damaged, or of a newer version
 * throws a ManifestError naming it.
 */
export function readManifest(runDir: string): Manifest | null {
  const file = manifestPath(runDir);
  if (!fs.existsSync(file)) return null;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ManifestError(
      file,
      `${file} is not valid JSON (${(e as Error).message}); it is rewritten whole on every start, so it was edited or ` +
        `damaged: restore it from a copy, or start a new run with another --out`,
    );
  }
  return checkManifest(json, file);
}

const DAMAGED =
  'it is rewritten whole on every start, so it was edited or damaged: restore it from a copy, or start a new run with another --out';

function checkManifest(json: unknown, file: string): Manifest {
  if (!isObject(json) || (!('run_id' in json) && !('trials' in json)))
    throw new ManifestError(
      file,
      `${file} is not a run manifest of ssl-budget-bench (${isObject(json) ? 'no run_id and no trials' : `a JSON ${kind(json)}, not an object`}): ` +
        `another tool's file, or not a run directory; give the directory that npm run bench printed`,
    );
  const version = json.version ?? 0;
  if (typeof version === 'number' && Number.isInteger(version) && version > MANIFEST_VERSION)
    throw new ManifestError(
      file,
      `${file} is manifest version ${version}, newer than this code reads (${MANIFEST_VERSION}): a newer ssl-budget-bench wrote it; ` +
        `update this checkout (or read the run with the version that wrote it)`,
    );
  if (version !== 0 && version !== MANIFEST_VERSION)
    throw new ManifestError(
      file,
      `${file}: version is ${JSON.stringify(version)}, not a manifest version (0 to ${MANIFEST_VERSION}); ${DAMAGED}`,
    );
  const problem = (where: string, what: string) =>
    new ManifestError(file, `${file} is not a run manifest this code can read: ${where} ${what}; ${DAMAGED}`);
  const need = <T>(value: unknown, where: string, expected: string, ok: (v: unknown) => v is T): T => {
    if (value === undefined) throw problem(where, `is missing (expected ${expected})`);
    if (!ok(value)) throw problem(where, `is ${sample(value)}, expected ${expected}`);
    return value;
  };
  const str = (o: Record<string, unknown>, key: string, at: string) => need(o[key], `${at}${key}`, 'a string', isString);
  const num = (o: Record<string, unknown>, key: string, at: string) => need(o[key], `${at}${key}`, 'a number', isNumber);
  const obj = (o: Record<string, unknown>, key: string, at: string) => need(o[key], `${at}${key}`, 'an object', isObject);
  const arr = (o: Record<string, unknown>, key: string, at: string) => need(o[key], `${at}${key}`, 'an array', Array.isArray);
  const strings = (o: Record<string, unknown>, key: string, at: string): string[] => {
    const xs = arr(o, key, at);
    for (const [i, x] of xs.entries()) need(x, `${at}${key}[${i}]`, 'a string', isString);
    return xs as string[];
  };
  const numbers = (o: Record<string, unknown>, key: string, at: string): number[] => {
    const xs = arr(o, key, at);
    for (const [i, x] of xs.entries()) need(x, `${at}${key}[${i}]`, 'a number', isNumber);
    return xs as number[];
  };

  str(json, 'run_id', '');
  str(json, 'started', '');
  str(json, 'last_started', '');
  strings(json, 'argv', '');
  const suite = obj(json, 'suite', '');
  str(suite, 'name', 'suite.');
  const evaluation = obj(suite, 'evaluation', 'suite.');
  const targets = obj(evaluation, 'targets', 'suite.evaluation.');
  for (const d of Object.keys(targets)) numbers(targets, d, 'suite.evaluation.targets.');
  if (evaluation.targetGaps !== undefined) numbers(evaluation, 'targetGaps', 'suite.evaluation.');
  const trials = arr(json, 'trials', '');
  for (const [i, t] of trials.entries()) {
    const at = `trials[${i}].`;
    const trial = need(t, `trials[${i}]`, 'an object', isObject);
    for (const key of ['id', 'label', 'dataset', 'backbone']) str(trial, key, at);
    num(trial, 'seed', at);
    const budget = obj(trial, 'budget', at);
    str(budget, 'kind', `${at}budget.`);
    num(budget, 'amount', `${at}budget.`);
  }
  obj(json, 'provenance', '');
  const rules = obj(json, 'rules', '');
  str(rules, 'training_flops', 'rules.');
  str(rules, 'time', 'rules.');
  const memory = obj(rules, 'memory', 'rules.');
  for (const key of Object.keys(memory)) str(memory, key, 'rules.memory.');
  // Version 0 may predate departures; version 1 always has them.
  const departures = version === 0 && json.departures === undefined ? {} : obj(json, 'departures', '');
  for (const label of Object.keys(departures)) strings(departures, label, 'departures.');
  if (json.method_order !== undefined) strings(json, 'method_order', '');

  const m = json as unknown as Manifest;
  return {
    version: MANIFEST_VERSION,
    run_id: m.run_id,
    started: m.started,
    last_started: m.last_started,
    argv: m.argv,
    suite: m.suite,
    trials: m.trials,
    provenance: m.provenance,
    rules: m.rules,
    departures: departures as Record<string, string[]>,
    ...(m.method_order ? { method_order: m.method_order } : {}),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function sample(v: unknown): string {
  const text = JSON.stringify(v);
  return `${kind(v)} ${text.length > 40 ? `${text.slice(0, 37)}...` : text}`;
}
