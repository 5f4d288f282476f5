/**
 * Suite files (bench/suites/*.json): what to run and how to evaluate. Checked against
 * bench/suites/suite.schema.json (ajv: shape and types, every error with its path), then against the
 * registries (method, dataset and backbone names, budget amounts), and resolved with defaults filled in.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { DATASET_NAMES } from '../../datasets/registry.js';
import { getMethod, METHODS } from '../../methods/registry.js';
import { entryProblems, type MethodEntry, methodEntrySchema } from '../../methods/settings.js';
import { makeBackbone } from '../../engine/nn/resnet.js';
import { type BudgetError, parseAmount, parseBudget, type Budget, type BudgetKind } from './budget.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SUITES_DIR = path.resolve(HERE, '../../bench/suites');
const SCHEMA = JSON.parse(fs.readFileSync(path.join(SUITES_DIR, 'suite.schema.json'), 'utf8'));

export type { MethodEntry };

export class SuiteError extends Error {}

export interface DatasetEntry {
  name: string;
  backbone: string;
}

export interface EvaluationSettings {
  fractions: number[];
  layer: 'backbone' | 'pre-feature';
  valFraction: number;
  maxTrainImages: number | null;
  maxTestImages: number | null;
  knn: { k: number[]; temperature: number };
  linear: { solver: 'adam' | 'lbfgs'; iterations: number; lr: number; weightDecays: number[] };
  bag: {
    patches: number[];
    every: boolean;
    recipe: 'emp-ssl-patches' | 'own';
    repeats: number;
    maxTrainImages: number | null;
    maxTestImages: number | null;
  };
  testCost: { patches: number[]; throughputCrops: number };
  /**
   * A method's authors' own evaluation protocol, by method name (e.g. EMP-SSL: the mean pre-feature of 128 of
   * its training patches), evaluated beside the common ones wherever bags are: the `authors` protocol.
   */
  authors: Record<string, { layer: 'backbone' | 'pre-feature'; patches: number }>;
  transfer: Record<string, string[]>;
  /** Absolute target accuracies per dataset, for time to target. */
  targets: Record<string, number[]>;
  /** Targets as fractions of the gap between random-init and supervised (where the run has both). */
  targetGaps: number[];
}

export interface Suite {
  name: string;
  description: string;
  file: string | null;
  methods: MethodEntry[];
  datasets: DatasetEntry[];
  budgets: Budget[];
  amounts: Partial<Record<BudgetKind, number>>;
  seeds: number[];
  /** The label the findings compare every other method against (null: none). */
  reference: string | null;
  controls: { batchImages?: number };
  evaluation: EvaluationSettings;
}

export const DEFAULT_EVALUATION: EvaluationSettings = {
  fractions: [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1],
  layer: 'backbone',
  valFraction: 0.1,
  maxTrainImages: null,
  maxTestImages: null,
  knn: { k: [20, 200], temperature: 0.07 },
  linear: {
    solver: 'lbfgs',
    iterations: 300,
    lr: 0.01,
    // A converged probe (lbfgs) needs some penalty: without one, separable features have no finite optimum.
    weightDecays: [1e-4, 1e-3, 1e-2],
  },
  bag: { patches: [16], every: true, recipe: 'emp-ssl-patches', repeats: 5, maxTrainImages: null, maxTestImages: null },
  testCost: { patches: [1, 16, 128], throughputCrops: 256 },
  authors: {},
  transfer: {},
  targets: {},
  targetGaps: [0.25, 0.5, 0.75],
};

/** The method entry's schema, made from the settings tables (bench/suites/method-entry.schema.json is a copy for editors). */
export function currentMethodEntrySchema(): Record<string, unknown> {
  return methodEntrySchema(Object.keys(METHODS).map((name) => getMethod(name)));
}

const ajv = new Ajv({ allErrors: true });
ajv.addSchema(currentMethodEntrySchema());
const validate = ajv.compile(SCHEMA);

function describeAjvError(e: ErrorObject): string {
  const where = `suite${e.instancePath.replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.')}`;
  if (e.keyword === 'additionalProperties')
    return `${where}: unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  if (e.keyword === 'enum') return `${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  return `${where}: ${e.message}`;
}

/** A suite-level label: the method name, or METHOD-xVIEWS when the views are changed. */
function defaultLabel(method: string, views?: number): string {
  return views === undefined ? method : `${method}-x${views}`;
}

/** What in a method entry cannot run (views the method refuses, settings it does not have or out of range). */
function methodSettingProblems(entry: MethodEntry): string[] {
  try {
    return entryProblems(entry, getMethod(entry.method, entry.views));
  } catch (e) {
    return [`${entry.method} with views ${entry.views}: ${(e as Error).message}`];
  }
}

/** Validates parsed JSON and resolves it into a Suite (SuiteError listing every problem). */
export function resolveSuite(raw: unknown, file: string | null): Suite {
  const from = file ? ` in ${file}` : '';
  if (!validate(raw)) {
    // oneOf failures repeat each branch's complaint; keep the distinct, most specific lines.
    const lines = [...new Set((validate.errors ?? []).filter((e) => e.keyword !== 'oneOf').map(describeAjvError))];
    throw new SuiteError(`invalid suite${from}:\n  ${lines.join('\n  ')}\n(schema: ${path.join(SUITES_DIR, 'suite.schema.json')})`);
  }
  const s = raw as Record<string, any>;
  const problems: string[] = [];
  const methods: MethodEntry[] = (s.methods as (string | Record<string, any>)[]).map((m) => {
    const entry = typeof m === 'string' ? { method: m } : m;
    if (!METHODS[entry.method]) problems.push(`unknown method "${entry.method}"; valid: ${Object.keys(METHODS).join(', ')}`);
    else problems.push(...methodSettingProblems(entry as MethodEntry));
    return { ...entry, label: entry.label ?? defaultLabel(entry.method, entry.views) } as MethodEntry;
  });
  const labels = methods.map((m) => m.label);
  const reference: string | null = s.reference ?? methods.find((m) => m.method === 'emp-ssl')?.label ?? null;
  if (s.reference !== undefined && !labels.includes(s.reference))
    problems.push(`reference "${s.reference}" is not a method label of this suite; labels: ${labels.join(', ')}`);
  for (const l of new Set(labels))
    if (labels.filter((x) => x === l).length > 1) problems.push(`two method entries are labelled "${l}"; give one a "label"`);
  const backbone = s.backbone ?? 'resnet-small';
  const datasets: DatasetEntry[] = (s.datasets as (string | Record<string, any>)[]).map((d) => {
    const entry = typeof d === 'string' ? { name: d } : d;
    if (!(DATASET_NAMES as readonly string[]).includes(entry.name))
      problems.push(`unknown dataset "${entry.name}"; valid: ${DATASET_NAMES.join(', ')}`);
    return { name: entry.name, backbone: entry.backbone ?? backbone };
  });
  for (const b of new Set(datasets.map((d) => d.backbone))) {
    try {
      makeBackbone(b);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  const budgets: Budget[] = [];
  for (const text of s.budgets as string[]) {
    try {
      const b = parseBudget(text);
      if (b.amount === undefined) problems.push(`budget "${text}" needs an amount (KIND:AMOUNT)`);
      else budgets.push(b as Budget);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  const amounts: Partial<Record<BudgetKind, number>> = {};
  for (const [kind, text] of Object.entries((s.amounts ?? {}) as Record<string, string>)) {
    try {
      amounts[kind as BudgetKind] = parseAmount(kind as BudgetKind, text);
    } catch (e) {
      problems.push(`amounts.${kind}: ${(e as Error).message}`);
    }
  }
  for (const b of budgets) amounts[b.kind] ??= b.amount;
  const evaluation: EvaluationSettings = { ...DEFAULT_EVALUATION, ...(s.evaluation ?? {}) };
  for (const key of ['knn', 'linear', 'bag', 'testCost'] as const) {
    evaluation[key] = { ...DEFAULT_EVALUATION[key], ...(s.evaluation?.[key] ?? {}) } as never;
  }
  evaluation.fractions = [...evaluation.fractions].sort((a, b) => a - b);
  if (evaluation.fractions[evaluation.fractions.length - 1] !== 1) evaluation.fractions.push(1);
  for (const name of Object.keys(evaluation.authors))
    if (!METHODS[name]) problems.push(`evaluation.authors: unknown method "${name}"; valid: ${Object.keys(METHODS).join(', ')}`);
  const known = (name: string) => (DATASET_NAMES as readonly string[]).includes(name);
  for (const [from, tos] of Object.entries(evaluation.transfer)) {
    for (const d of [from, ...tos])
      if (!known(d)) problems.push(`evaluation.transfer: unknown dataset "${d}"; valid: ${DATASET_NAMES.join(', ')}`);
  }
  if (problems.length > 0) throw new SuiteError(`invalid suite${from}:\n  ${problems.join('\n  ')}`);
  const seeds = typeof s.seeds === 'number' ? Array.from({ length: s.seeds }, (_, i) => i) : (s.seeds ?? [0]);
  return {
    name: s.name,
    description: s.description ?? '',
    file,
    methods,
    datasets,
    budgets,
    amounts,
    seeds,
    reference,
    controls: s.controls ?? {},
    evaluation,
  };
}

/** Reads and resolves a suite file; a bare name ("default") means bench/suites/NAME.json. */
export function loadSuite(nameOrFile: string): Suite {
  const file = /[\\/]|\.json$/.test(nameOrFile) ? path.resolve(nameOrFile) : path.join(SUITES_DIR, `${nameOrFile}.json`);
  if (!fs.existsSync(file)) {
    const shipped = fs
      .readdirSync(SUITES_DIR)
      .filter((f) => f.endsWith('.json') && !f.includes('schema'))
      .map((f) => f.replace(/\.json$/, ''));
    throw new SuiteError(`suite file ${file} not found; shipped suites: ${shipped.join(', ')} (or give a path to a .json file)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SuiteError(`suite ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return resolveSuite(raw, file);
}

export interface SuiteOverrides {
  budget?: string;
  methods?: string[];
  datasets?: string[];
  seeds?: number;
  /** Shifts the seeds to start here (a rerun on fresh seeds: 3 seeds from 3 are 3, 4, 5). */
  firstSeed?: number;
  backbone?: string;
}

/** Applies command-line overrides (each checked, with errors naming what is valid). */
export function applyOverrides(suite: Suite, o: SuiteOverrides): Suite {
  const out: Suite = { ...suite };
  if (o.budget !== undefined) {
    let b;
    try {
      b = parseBudget(o.budget);
    } catch (e) {
      throw new SuiteError((e as BudgetError).message);
    }
    const amount = b.amount ?? suite.amounts[b.kind];
    if (amount === undefined) {
      const has = Object.keys(suite.amounts).join(', ') || 'none';
      throw new SuiteError(
        `suite "${suite.name}" has no default amount for a ${b.kind} budget (it has: ${has}); write --budget=${b.kind}:AMOUNT`,
      );
    }
    out.budgets = [{ kind: b.kind, amount }];
  }
  for (const [flag, names] of [
    ['methods', o.methods],
    ['datasets', o.datasets],
  ] as const)
    if (names?.length === 0) throw new SuiteError(`--${flag} is empty; name at least one, or leave the flag out for the suite's own`);
  if (o.methods) {
    out.methods = o.methods.map((name) => {
      const inSuite = suite.methods.find((m) => m.label === name || m.method === name);
      if (inSuite) return inSuite;
      if (!METHODS[name])
        throw new SuiteError(
          `unknown method "${name}"; valid: ${[...new Set([...suite.methods.map((m) => m.label), ...Object.keys(METHODS)])].join(', ')}`,
        );
      return { method: name, label: name };
    });
  }
  // The findings' reference follows the methods the run keeps (EMP-SSL's entry where the suite's own is gone).
  if (o.methods && !out.methods.some((m) => m.label === suite.reference))
    out.reference = out.methods.find((m) => m.method === 'emp-ssl')?.label ?? null;
  if (o.datasets) {
    out.datasets = o.datasets.map((name) => {
      if (!(DATASET_NAMES as readonly string[]).includes(name))
        throw new SuiteError(`unknown dataset "${name}"; valid: ${DATASET_NAMES.join(', ')}`);
      return suite.datasets.find((d) => d.name === name) ?? { name, backbone: o.backbone ?? suite.datasets[0].backbone };
    });
  }
  // A name given twice (or a method and its suite label) would run the same trials twice.
  if (o.methods)
    refuseRepeated(
      'methods',
      out.methods.map((m) => m.label),
    );
  if (o.datasets)
    refuseRepeated(
      'datasets',
      out.datasets.map((d) => d.name),
    );
  if (o.backbone) {
    try {
      makeBackbone(o.backbone);
    } catch (e) {
      throw new SuiteError((e as Error).message);
    }
    out.datasets = out.datasets.map((d) => ({ ...d, backbone: o.backbone! }));
  }
  if (o.seeds !== undefined) out.seeds = Array.from({ length: o.seeds }, (_, i) => i);
  if (o.firstSeed !== undefined) {
    const shift = o.firstSeed - Math.min(...out.seeds);
    out.seeds = out.seeds.map((s) => s + shift);
  }
  return out;
}

function refuseRepeated(flag: string, names: string[]): void {
  const repeated = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
  if (repeated.length > 0)
    throw new SuiteError(`--${flag} gives ${repeated.join(', ')} more than once (each would run twice); name each once`);
}
