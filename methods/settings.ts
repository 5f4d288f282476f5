/**
 * Every setting a suite may give a method, declared once: the settings every trained method shares (rate,
 * batch, heads, views...) in `SHARED_SETTINGS` below, and each method's own (loss constants, target momentum,
 * queue, prototypes) in its file's `settings`. From these tables come the suite schema's method entry, the
 * validation of an entry, the method as a trial runs it, the departures a report lists, and the tuner's
 * search space.
 */
import { soloLearnCifar, type Recipe } from '../datasets/augment/recipes.js';
import type { MethodConfig } from './method.js';

/** Where the tuner draws a setting: a number on a log or linear scale, or one of a few choices. */
export type SearchRange =
  | { min: number; max: number; scale: 'log' | 'linear'; integer?: boolean }
  | { choices: readonly (number | string | boolean)[] };

/** One of a method's own numeric settings. */
export interface OwnSetting {
  doc: string;
  default: number;
  /**
   * The source's value (../shared/reference/baselines.json, in this loss's convention), null where the source
   * has no such setting (an ablation's knob).
   */
  source: number | null;
  /** Why `default` is not the source's value; required exactly when they differ (test/settings.test.ts). */
  departs?: string;
  /** The valid range, inclusive. */
  min: number;
  max: number;
  integer?: boolean;
  search?: SearchRange;
}

export type OwnSettings = Record<string, OwnSetting>;

/** A suite's method entry: the method, its label, and setting values by name (shared and the method's own). */
export interface MethodEntry {
  method: string;
  label: string;
  views?: number;
  batchImages?: number;
  [setting: string]: unknown;
}

/** The values a method's own settings take by default. */
export function ownDefaults(settings: OwnSettings): Record<string, number> {
  return Object.fromEntries(Object.entries(settings).map(([name, s]) => [name, s.default]));
}

/** A setting every trained method takes. `apply` runs in table order (so `lr` after `batchImages`). */
interface SharedSetting {
  doc: string;
  /** JSON Schema of a valid value. */
  schema: Record<string, unknown>;
  search?: SearchRange;
  /** The method with this value. */
  apply(m: MethodConfig, value: never, entry: MethodEntry): MethodConfig;
  /** A departure line when the value trains differently from the method's own; null when it does not. */
  describe(value: never, base: MethodConfig, entry: MethodEntry): string | null;
}

const widths = (xs: number[]) => xs.join('-');
const percent = (x: number) => `${+(x * 100).toFixed(2)} %`;
const total = (r: Recipe) => r.views.reduce((n, v) => n + v.count, 0);
const scaledLr = (m: MethodConfig, batch: number, base: MethodConfig) =>
  m.lrScaling === 'none' ? base.optimizer.lr : (base.optimizer.lr * batch) / base.batchImages;
const optimizerName = (kind: string) => (kind === 'sgd' ? 'SGD with momentum' : 'LARS');

/**
 * The shared settings, in the order they apply. `views` is applied by the registry (`getMethod(name, views)`)
 * before the rest; its entry here declares and describes it.
 */
export const SHARED_SETTINGS = {
  views: {
    doc: 'Views (patches) of the first view spec.',
    schema: { type: 'integer', minimum: 2 },
    apply: (m: MethodConfig) => m,
    describe: (v: number, base: MethodConfig) => `views ${v} of the first view group (source: ${base.recipe.name})`,
  },
  augmentation: {
    doc: "solo-plain: every view from solo-learn's plain CIFAR view group (crop 0.08-1, jitter 0.4/0.4/0.2/0.1 p 0.8, grayscale 0.2, flip; no blur or solarisation) instead of the method's own recipe.",
    schema: { enum: ['solo-plain'] },
    apply: (m: MethodConfig, _v: 'solo-plain') => ({ ...m, recipe: soloLearnCifar(total(m.recipe)) }),
    describe: (_v: 'solo-plain', base: MethodConfig) =>
      `every view from solo-learn's plain CIFAR group, no blur or solarisation (source: ${base.recipe.name})`,
  },
  cropScale: {
    doc: "Area range [min, max] of the large views' random resized crops (those of the first view's size; the recipe's own unless set).",
    schema: { type: 'array', items: { type: 'number', exclusiveMinimum: 0, maximum: 1 }, minItems: 2, maxItems: 2 },
    apply: (m: MethodConfig, scale: [number, number]) => {
      const large = m.recipe.views[0].size;
      const views = m.recipe.views.map((v) => (v.size === large ? { ...v, crop: { ...v.crop, scale } } : v));
      return { ...m, recipe: { ...m.recipe, name: `${m.recipe.name}-crop${scale.join('-')}`, views } };
    },
    describe: (scale: [number, number], base: MethodConfig) => {
      const own = base.recipe.views[0].crop.scale;
      return scale.join('-') === own.join('-') ? null : `large views cropped at ${scale.join('-')} of the area (source ${own.join('-')})`;
    },
  },
  projector: {
    doc: "Projector widths after the backbone's features, hidden layers then output (the method's own unless set).",
    schema: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 1 } },
    apply: (m: MethodConfig, projector: number[]) => ({ ...m, projector }),
    describe: (p: number[], base: MethodConfig) =>
      widths(p) === widths(base.projector) ? null : `projector ${widths(p)} (source ${widths(base.projector)})`,
  },
  projectorBatchNorm: {
    doc: "Batch norm on the projector's hidden layers (the method's own unless set; SimCLR's has none).",
    schema: { type: 'boolean' },
    apply: (m: MethodConfig, projectorBatchNorm: boolean) => ({ ...m, projectorBatchNorm }),
    describe: (on: boolean, base: MethodConfig) =>
      on === (base.projectorBatchNorm ?? true) ? null : `projector batch norm ${on ? 'on' : 'off'} (source ${on ? 'off' : 'on'})`,
  },
  batchImages: {
    doc: "Images per step. The learning rate follows it by the method's batch rule (lr x batch / its batch) unless lr is set.",
    schema: { type: 'integer', minimum: 2 },
    search: { choices: [32, 64, 128, 256] },
    apply: (m: MethodConfig, batchImages: number) => ({
      ...m,
      batchImages,
      optimizer: { ...m.optimizer, lr: scaledLr(m, batchImages, m) },
    }),
    describe: (b: number, base: MethodConfig) => (b === base.batchImages ? null : `batch ${b} images (source ${base.batchImages})`),
  },
  lr: {
    doc: "Base learning rate at the trial's batch (the method's own, scaled by its batch rule, unless set).",
    schema: { type: 'number', exclusiveMinimum: 0 },
    search: { min: 0.01, max: 10, scale: 'log' },
    apply: (m: MethodConfig, lr: number) => ({ ...m, optimizer: { ...m.optimizer, lr } }),
    describe: (lr: number, base: MethodConfig, entry: MethodEntry) => {
      const scaled = scaledLr(base, entry.batchImages ?? base.batchImages, base);
      if (lr === scaled) return null;
      const rule = scaled !== base.optimizer.lr ? `, ${+scaled.toPrecision(4)} by its batch rule` : '';
      return `lr ${lr} (source ${base.optimizer.lr} at batch ${base.batchImages}${rule})`;
    },
  },
  weightDecay: {
    doc: "Weight decay (the method's own unless set).",
    schema: { type: 'number', minimum: 0 },
    search: { min: 1e-6, max: 1e-3, scale: 'log' },
    apply: (m: MethodConfig, weightDecay: number) => ({ ...m, optimizer: { ...m.optimizer, weightDecay } }),
    describe: (wd: number, base: MethodConfig) =>
      wd === base.optimizer.weightDecay ? null : `weight decay ${wd} (source ${base.optimizer.weightDecay})`,
  },
  optimizer: {
    doc: "LARS or plain SGD with momentum, same momentum and schedule (the method's own unless set).",
    schema: { enum: ['lars', 'sgd'] },
    apply: (m: MethodConfig, kind: 'lars' | 'sgd') => ({ ...m, optimizer: { ...m.optimizer, kind } }),
    describe: (kind: 'lars' | 'sgd', base: MethodConfig) =>
      kind === base.optimizer.kind ? null : `optimizer ${optimizerName(kind)} (source ${base.optimizer.kind === 'sgd' ? 'SGD' : 'LARS'})`,
  },
  stepScales: {
    doc: 'Step multipliers by module (backbone, projector, predictor, prototypes): {"predictor": 10} gives the predictor 10x larger steps.',
    schema: { type: 'object', additionalProperties: { type: 'number', exclusiveMinimum: 0 } },
    apply: (m: MethodConfig, stepScales: Record<string, number>) => ({ ...m, optimizer: { ...m.optimizer, stepScales } }),
    describe: (scales: Record<string, number>) => {
      const lines = Object.entries(scales)
        .filter(([, s]) => s !== 1)
        .map(([module, s]) => `${module} steps x${s} (source: one rate for every module)`);
      return lines.length ? lines.join('; ') : null;
    },
  },
  warmup: {
    doc: 'Warm-up as a fraction of the budget.',
    schema: { type: 'number', minimum: 0, maximum: 0.5 },
    search: { min: 0, max: 0.2, scale: 'linear' },
    apply: (m: MethodConfig, warmup: number) => ({ ...m, optimizer: { ...m.optimizer, warmup } }),
    describe: (w: number, base: MethodConfig) =>
      w === (base.optimizer.warmup ?? 0) ? null : `warm-up ${percent(w)} of the budget (source ${percent(base.optimizer.warmup ?? 0)})`,
  },
  warmupSteps: {
    doc: 'Warm-up lasts at least this many optimizer steps (lr also x min(1, step / warmupSteps)).',
    schema: { type: 'integer', minimum: 1 },
    apply: (m: MethodConfig, warmupSteps: number) => ({ ...m, optimizer: { ...m.optimizer, warmupSteps } }),
    describe: (s: number) => `warm-up at least ${s} optimizer steps (source: no step floor)`,
  },
} satisfies Record<string, SharedSetting>;

const SHARED = SHARED_SETTINGS as Record<string, SharedSetting>;
/** Names in an entry that are not settings. */
const ENTRY_KEYS = ['method', 'label'];

/** A method's own settings as JSON Schema, for the suite schema's method entry. */
function ownSchema(s: OwnSetting): Record<string, unknown> {
  return { type: s.integer ? 'integer' : 'number', minimum: s.min, maximum: s.max, description: s.doc };
}

/**
 * The suite schema's method entry (bench/suites/method-entry.schema.json is this, written by `npm run schema`):
 * the shared settings, and every method's own setting by name (one method's range is checked by `entryProblems`).
 */
export function methodEntrySchema(methods: MethodConfig[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    method: { type: 'string', description: 'A method name (methods/registry.ts).' },
    label: {
      type: 'string',
      pattern: '^[A-Za-z0-9._+-]+$',
      description: 'Names this setting in results (default: the method, or METHOD-xVIEWS).',
    },
  };
  for (const [name, s] of Object.entries(SHARED)) properties[name] = { ...s.schema, description: s.doc };
  const own = new Map<string, string[]>();
  for (const m of methods) for (const name of Object.keys(m.settings)) own.set(name, [...(own.get(name) ?? []), m.name]);
  for (const [name, owners] of [...own].sort(([a], [b]) => a.localeCompare(b))) {
    const first = methods.find((m) => m.name === owners[0])!.settings[name];
    properties[name] =
      owners.length === 1
        ? { ...ownSchema(first), description: `${owners[0]}: ${first.doc}` }
        : { type: 'number', description: `A setting of ${owners.join(', ')} (see each method's file).` };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://ssl-budget-bench/method-entry.schema.json',
    title: 'ssl-budget-bench method entry (generated from methods/settings.ts and each method file; npm run schema)',
    type: 'object',
    additionalProperties: false,
    required: ['method'],
    properties,
  };
}

/** What in an entry the method cannot take (a setting it does not have, a value out of its range, heads that do not fit). */
export function entryProblems(entry: MethodEntry, base: MethodConfig): string[] {
  const problems: string[] = [];
  const own = base.settings;
  for (const [name, value] of Object.entries(entry)) {
    if (ENTRY_KEYS.includes(name) || name in SHARED) continue;
    const s = own[name];
    if (!s) {
      const has = Object.keys(own);
      problems.push(
        `${entry.method}: has no setting "${name}"; ${has.length ? `its own are ${has.join(', ')}` : 'it has no settings of its own'} (shared: ${Object.keys(SHARED).join(', ')})`,
      );
    } else if (typeof value !== 'number' || value < s.min || value > s.max || (s.integer && !Number.isInteger(value)))
      problems.push(`${entry.method}: ${name} must be ${s.integer ? 'an integer' : 'a number'} in [${s.min}, ${s.max}], got ${value}`);
  }
  const scale = entry.cropScale as [number, number] | undefined;
  if (scale && scale[0] > scale[1]) problems.push(`${entry.method}: cropScale [${scale}] must be [min, max] with min <= max`);
  const modules = ['backbone', 'projector', ...(base.predictor ? ['predictor'] : []), ...trainedModuleNames(base)];
  for (const module of Object.keys((entry.stepScales as Record<string, number>) ?? {}))
    if (!modules.includes(module))
      problems.push(`${entry.method}: stepScales names "${module}", which this method does not have (it has ${modules.join(', ')})`);
  if (problems.length > 0) return problems;
  const projector = entry.projector as number[] | undefined;
  const out = projector?.[projector.length - 1];
  const predicted = base.predictor?.[base.predictor.length - 1];
  if (out !== undefined && predicted !== undefined && out !== predicted)
    return [
      `${entry.method}: projector [${projector}] ends at ${out} but its predictor outputs ${predicted} (the loss compares them); end the projector at ${predicted}`,
    ];
  return [];
}

/** Top-level names of the method's own trainable modules (e.g. SwAV's prototypes). */
function trainedModuleNames(m: MethodConfig): string[] {
  return (m.hooks?.modules?.(1, m.params) ?? []).map((mod) => mod.name);
}

/** The method with an entry's settings applied (`base` is `getMethod(entry.method, entry.views)`). */
export function applySettings(base: MethodConfig, entry: MethodEntry): MethodConfig {
  let m = base;
  for (const [name, s] of Object.entries(SHARED)) if (entry[name] !== undefined) m = s.apply(m, entry[name] as never, entry);
  const params = { ...m.params };
  for (const name of Object.keys(m.settings)) if (entry[name] !== undefined) params[name] = entry[name] as number;
  return { ...m, params };
}

/**
 * One line per way an entry trains differently from its method's source: the method's listed departures
 * (`departures`, and each own setting's `departs`) and every setting the entry changes, with the source's value.
 */
export function describeEntry(entry: MethodEntry, base: MethodConfig, source: MethodConfig): string[] {
  // Fields that depart for one reason (every view group's interpolation) share a line.
  const reasons = new Map<string, string[]>();
  const listed = {
    ...base.departures,
    ...Object.fromEntries(
      Object.entries(base.settings)
        .filter(([, s]) => s.departs)
        .map(([name, s]) => [name, s.departs!]),
    ),
  };
  for (const [field, why] of Object.entries(listed)) reasons.set(why, [...(reasons.get(why) ?? []), field]);
  const lines = [...reasons].map(([why, names]) => `${names.join(', ')}: ${why}`);
  for (const [name, s] of Object.entries(SHARED)) {
    if (entry[name] === undefined) continue;
    const line = s.describe(entry[name] as never, name === 'views' ? source : base, entry);
    if (line) lines.push(line);
  }
  for (const [name, s] of Object.entries(base.settings))
    if (entry[name] !== undefined && entry[name] !== s.default) lines.push(`${name} ${entry[name]} (source ${s.default})`);
  return lines;
}

/** The tuner's search space for a method: each setting that declares a search range, shared then own. */
export function searchSpace(m: MethodConfig): Record<string, SearchRange> {
  const space: Record<string, SearchRange> = {};
  for (const [name, s] of Object.entries(SHARED)) if (s.search) space[name] = s.search;
  for (const [name, s] of Object.entries(m.settings)) if (s.search) space[name] = s.search;
  return space;
}
