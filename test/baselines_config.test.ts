/**
 * Each method's defaults against the sources' CIFAR settings (test/fixtures/reference/baselines.json, a copy of
 * ../shared/reference's table, transcribed from solo-learn and the official EMP-SSL code): every field below must be
 * equal, or listed with its reason in the method's `departures` (or its own setting's `departs`). A listed departure whose field is equal fails too (the list must stay true).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ViewSpec } from '../datasets/augment/recipes.js';
import type { MethodConfig } from '../methods/method.js';
import { getMethod } from '../methods/registry.js';

const TABLE = JSON.parse(fs.readFileSync(path.resolve(__dirname, 'fixtures/reference/baselines.json'), 'utf8'));

type Flat = Record<string, string | number | boolean | null>;
type TableLayer = { layer?: string; out?: number | string; op?: string };

/** A head as its layers, e.g. "Linear(2048)-BN-ReLU-Linear(256)". */
function headFromTable(layers: TableLayer[] | null): string | null {
  if (!layers) return null;
  return layers
    .filter((l) => l.layer !== undefined && !l.layer.startsWith('Prototypes'))
    .map((l) => (l.layer === 'Linear' ? `Linear(${l.out})` : l.layer === 'BatchNorm1d' ? 'BN' : l.layer))
    .join('-');
}

/** Our heads (engine/nn/mlp.ts): each hidden width is Linear-BN-ReLU (no BN when batch norm is off), then Linear(out). */
function headOf(widths: number[] | undefined, batchNorm = true): string | null {
  if (!widths) return null;
  const layer = (w: number, i: number) =>
    i < widths.length - 1 ? [`Linear(${w})`, ...(batchNorm ? ['BN'] : []), 'ReLU'] : [`Linear(${w})`];
  return widths.flatMap(layer).join('-');
}

interface TableGroup {
  crop_size: number;
  num_crops: number;
  rrc: { crop_min_scale: number; crop_max_scale: number; ratio: string | number[]; interpolation: string };
  color_jitter: { prob: number; brightness: number; contrast: number; saturation: number; hue: number };
  grayscale: { prob: number };
  gaussian_prob: number;
  solarization_prob: number;
  horizontal_flip_prob: number;
}

function groupFromTable(g: TableGroup, i: number): Flat {
  const ratio = Array.isArray(g.rrc.ratio) ? g.rrc.ratio.join('-') : /3\/4, 4\/3/.test(g.rrc.ratio) ? '0.75-1.3333' : g.rrc.ratio;
  const at = `augmentations[${i}]`;
  return {
    [`${at}.crop_size`]: g.crop_size,
    [`${at}.num_crops`]: g.num_crops,
    [`${at}.crop_scale`]: `${g.rrc.crop_min_scale}-${g.rrc.crop_max_scale}`,
    [`${at}.crop_ratio`]: ratio,
    [`${at}.interpolation`]: /bicubic/.test(g.rrc.interpolation) ? 'bicubic' : 'bilinear',
    [`${at}.color_jitter`]: [
      g.color_jitter.prob,
      g.color_jitter.brightness,
      g.color_jitter.contrast,
      g.color_jitter.saturation,
      g.color_jitter.hue,
    ].join('/'),
    [`${at}.grayscale`]: g.grayscale.prob,
    [`${at}.gaussian_prob`]: g.gaussian_prob,
    [`${at}.solarization_prob`]: g.solarization_prob,
    [`${at}.horizontal_flip_prob`]: g.horizontal_flip_prob,
  };
}

function groupOf(v: ViewSpec, i: number): Flat {
  const at = `augmentations[${i}]`;
  const j = v.jitter;
  return {
    [`${at}.crop_size`]: v.size,
    [`${at}.num_crops`]: v.count,
    [`${at}.crop_scale`]: `${v.crop.scale[0]}-${v.crop.scale[1]}`,
    [`${at}.crop_ratio`]: v.crop.ratio.map((r) => Number(r.toFixed(4))).join('-'),
    // datasets/augment/ops.ts resizes crops bilinearly (torchvision's resized_crop, antialias off).
    [`${at}.interpolation`]: 'bilinear',
    [`${at}.color_jitter`]: j ? [j.p, j.brightness, j.contrast, j.saturation, j.hue].join('/') : '0/0/0/0/0',
    [`${at}.grayscale`]: v.grayscale,
    [`${at}.gaussian_prob`]: v.blur?.p ?? 0,
    [`${at}.solarization_prob`]: v.solarize,
    [`${at}.horizontal_flip_prob`]: v.flip,
  };
}

/** The fields we compare, in the table's vocabulary, read from the table. */
function fromTable(name: string): Flat {
  const t = TABLE[name];
  const solo = name !== 'emp-ssl';
  const k = { ...t.method_kwargs, ...(t.method_kwargs_code_defaults ?? {}) };
  const groups: TableGroup[] = name === 'swav' ? t.variant_cifar_multicrop.augmentations : t.augmentations;
  const flat: Flat = {
    batch_size: t.batch_size,
    'optimizer.lr': t.optimizer.lr,
    'optimizer.weight_decay': t.optimizer.weight_decay,
    'optimizer.momentum': t.optimizer.momentum,
    'optimizer.nesterov': t.optimizer.nesterov,
    'optimizer.eta': t.optimizer.eta,
    'optimizer.clip_lr': t.optimizer.clip_lr,
    // solo-learn scales lr with batch / 256; EMP-SSL's code uses its rate at any batch size.
    lr_scaling: solo ? 'linear' : 'none',
    // Warm-up as a fraction of training: solo-learn 10 of 1000 epochs; EMP-SSL none.
    'scheduler.warmup': solo ? t.scheduler.warmup_epochs / t.epochs : t.scheduler.warmup_epochs,
    'scheduler.min_lr': name === 'swav' ? 0.0006 : solo ? t.scheduler.min_lr : t.scheduler.eta_min,
    projector: headFromTable(t.projector),
    predictor: headFromTable(t.predictor),
  };
  Object.assign(flat, ...groups.map(groupFromTable));
  if (name === 'simclr') flat['loss.temperature'] = k.temperature;
  if (name === 'byol') Object.assign(flat, { 'momentum.base_tau': t.momentum.base_tau, 'momentum.final_tau': t.momentum.final_tau });
  if (name === 'vicreg')
    // solo-learn sums the variance term over the two views; ours averages it over views (the VICReg authors'
    // code and the shared reference loss), so the same loss needs twice the weight.
    Object.assign(flat, { 'loss.sim_w': k.sim_loss_weight, 'loss.var_w': 2 * k.var_loss_weight, 'loss.cov_w': k.cov_loss_weight });
  if (name === 'barlow_twins') Object.assign(flat, { 'loss.lambd': k.lamb, 'loss.scale_loss': k.scale_loss });
  if (name === 'swav')
    Object.assign(flat, {
      'loss.temperature': k.temperature,
      'loss.eps': k.sk_epsilon,
      'loss.iters': k.sk_iters,
      // Codes are computed for the large crops only, and solo-learn asserts there are exactly 2.
      'loss.n_global': 2,
      num_prototypes: k.num_prototypes,
      'queue.size': k.queue_size,
      'queue.start': k.epoch_queue_starts / t.epochs,
      freeze_prototypes: k.freeze_prototypes_epochs / t.epochs,
    });
  if (name === 'mocov2plus')
    Object.assign(flat, {
      'loss.temperature': k.temperature,
      'queue.size': t.queue.size,
      'momentum.base_tau': t.momentum.base_tau,
      'momentum.final_tau': t.momentum.final_tau,
    });
  if (name === 'emp-ssl') Object.assign(flat, { 'loss.lambda_inv': k.patch_sim, 'loss.lambda_tcr': k.tcr, 'loss.eps': k.eps });
  return flat;
}

/** Where a method's own setting sits in the table's vocabulary (loss constants under `loss.`). */
const OWN_FIELDS: Record<string, string> = {
  emaStart: 'momentum.base_tau',
  emaEnd: 'momentum.final_tau',
  prototypes: 'num_prototypes',
  queueSize: 'queue.size',
  queueStart: 'queue.start',
  freezePrototypes: 'freeze_prototypes',
};
const tableField = (name: string) => OWN_FIELDS[name] ?? `loss.${name}`;

/** The same fields read from our method's defaults. */
function fromOurs(m: MethodConfig): Flat {
  const o = m.optimizer;
  const flat: Flat = {
    batch_size: m.batchImages,
    'optimizer.lr': o.lr,
    'optimizer.weight_decay': o.weightDecay,
    'optimizer.momentum': o.momentum,
    'optimizer.nesterov': o.nesterov ?? false,
    'optimizer.eta': o.eta ?? null,
    'optimizer.clip_lr': o.clip ?? false,
    lr_scaling: m.lrScaling ?? 'linear',
    'scheduler.warmup': o.warmup ?? 0,
    // engine/optim/schedule.ts: cosine to 0.
    'scheduler.min_lr': 0,
    projector: headOf(m.projector, m.projectorBatchNorm ?? true),
    predictor: headOf(m.predictor),
  };
  Object.assign(flat, ...m.recipe.views.map(groupOf));
  for (const [name, value] of Object.entries(m.params)) flat[tableField(name)] = value;
  return flat;
}

const same = (a: unknown, b: unknown) =>
  typeof a === 'number' && typeof b === 'number' ? Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)) : a === b;

const METHOD_TABLE: Record<string, string> = {
  simclr: 'simclr',
  byol: 'byol',
  vicreg: 'vicreg',
  swav: 'swav',
  'barlow-twins': 'barlow_twins',
  mocov2plus: 'mocov2plus',
  'emp-ssl': 'emp-ssl',
};

describe("methods' defaults against the sources' CIFAR settings (baselines.json)", () => {
  for (const [method, entry] of Object.entries(METHOD_TABLE)) {
    it(`${method}: each own setting's source value is the table's`, () => {
      const theirs = fromTable(entry);
      const m = getMethod(method);
      for (const [name, s] of Object.entries(m.settings))
        if (s.source !== null) expect(s.source, `${method}.${name}`).toBeCloseTo(theirs[tableField(name)] as number, 9);
    });
  }

  for (const [method, entry] of Object.entries(METHOD_TABLE)) {
    it(`${method}: every difference is a listed departure, and every listed departure is a difference`, () => {
      const ours = getMethod(method);
      const theirs = fromTable(entry);
      const mine = fromOurs(ours);
      const differences = [...new Set([...Object.keys(theirs), ...Object.keys(mine)])]
        .filter((key) => !same(mine[key] ?? null, theirs[key] ?? null))
        .map((key) => `${key}: ours ${mine[key] ?? '(none)'}, source ${theirs[key] ?? '(none)'}`);
      const listed = {
        ...ours.departures,
        ...Object.fromEntries(
          Object.entries(ours.settings)
            .filter(([, s]) => s.departs)
            .map(([n, s]) => [tableField(n), s.departs!]),
        ),
      };
      const unlisted = differences.filter((d) => !(d.split(':')[0] in listed));
      expect(unlisted, `differences not in ${method}'s departures`).toEqual([]);
      const stale = Object.keys(listed).filter((key) => !differences.some((d) => d.split(':')[0] === key));
      expect(stale, `${method}'s departures that are not differences`).toEqual([]);
      for (const why of Object.values(listed)) expect(why.length).toBeGreaterThan(10);
    });
  }

  it('the comparison sees a change: a different temperature or crop scale is a difference', () => {
    const simclr = getMethod('simclr');
    const changed = { ...simclr, params: { temperature: 0.5 } };
    expect(fromOurs(changed)['loss.temperature']).not.toBe(fromTable('simclr')['loss.temperature']);
    const recipe = {
      ...simclr.recipe,
      views: [{ ...simclr.recipe.views[0], crop: { scale: [0.2, 1] as [number, number], ratio: simclr.recipe.views[0].crop.ratio } }],
    };
    expect(fromOurs({ ...simclr, recipe })['augmentations[0].crop_scale']).not.toBe(fromTable('simclr')['augmentations[0].crop_scale']);
  });
});
