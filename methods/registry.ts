/**
 * The methods by name, with their default settings (sources in each entry). `views` overrides the number
 * of views/patches of the first view spec: "SimCLR with 20 patches" is simclr with views 20.
 * LARS settings (eta 0.02, clipping, 10 of 1000 epochs of warm-up = 1 % of the budget) follow solo-learn's
 * CIFAR configs; EMP-SSL's LARS wrapper uses eta 0.005 with clipping and no warm-up.
 */
import { empSslPatches, soloLearnCifar, swavMultiCrop, type Recipe } from '../datasets/augment/recipes.js';
import * as barlowTwins from './barlow_twins.js';
import * as byol from './byol.js';
import * as empSsl from './emp_ssl.js';
import type { MethodConfig } from './method.js';
import * as simclr from './simclr.js';
import * as swav from './swav.js';
import * as vicreg from './vicreg.js';

function withViews(recipe: Recipe, views?: number): Recipe {
  if (views === undefined) return recipe;
  if (!Number.isInteger(views) || views < 2) throw new Error(`views must be an integer >= 2, got ${views}`);
  const [first, ...rest] = recipe.views;
  return { ...recipe, name: `${recipe.name}-x${views}`, views: [{ ...first, count: views }, ...rest] };
}

export const METHODS: Record<string, (views?: number) => MethodConfig> = {
  'emp-ssl': (views) => ({
    name: 'emp-ssl',
    source: 'EMP-SSL official code (CIFAR): 20 patches, projector 512-4096-4096-1024, LARS-SGD lr 0.3 Nesterov, wd 1e-4, batch 100',
    recipe: withViews(empSslPatches(20), views),
    projector: [4096, 4096, 1024],
    optimizer: { kind: 'lars', lr: 0.3, weightDecay: 1e-4, momentum: 0.9, nesterov: true, eta: 0.005, clip: true },
    batchImages: 100,
    loss: ({ z }) => empSsl.loss({ z }),
  }),
  // The loss ablation the reviewers asked for: EMP-SSL's patches and heads, SimCLR's InfoNCE across patches.
  'emp-ssl-infonce': (views) => ({
    ...METHODS['emp-ssl'](views),
    name: 'emp-ssl-infonce',
    source: 'EMP-SSL with its loss replaced by InfoNCE over the patches of each image (temperature 0.2)',
    loss: ({ z }) => simclr.loss({ z }),
  }),
  simclr: (views) => ({
    name: 'simclr',
    source: 'solo-learn cifar/simclr.yaml: temperature 0.2, projector 2048-256, LARS lr 0.4, wd 1e-4, batch 256',
    recipe: withViews(soloLearnCifar(2), views),
    projector: [2048, 256],
    optimizer: { kind: 'lars', lr: 0.4, weightDecay: 1e-4, momentum: 0.9, eta: 0.02, clip: true, warmup: 0.01 },
    batchImages: 256,
    loss: ({ z }) => simclr.loss({ z }),
  }),
  byol: (views) => ({
    name: 'byol',
    source: 'solo-learn cifar/byol.yaml: projector 4096-256, predictor 4096-256, tau 0.99 -> 1.0 cosine, LARS lr 1.0, wd 1e-5',
    recipe: withViews(soloLearnCifar(2), views),
    projector: [4096, 256],
    predictor: [4096, 256],
    ema: { start: 0.99, end: 1.0 },
    optimizer: { kind: 'lars', lr: 1.0, weightDecay: 1e-5, momentum: 0.9, eta: 0.02, clip: true, warmup: 0.01 },
    batchImages: 256,
    loss: ({ p, zt }) => byol.loss({ p: p!, zt: zt! }),
  }),
  vicreg: (views) => ({
    name: 'vicreg',
    source: 'solo-learn cifar/vicreg.yaml: projector 2048-2048, weights 25/25/1, LARS lr 0.3, wd 1e-4',
    recipe: withViews(soloLearnCifar(2), views),
    projector: [2048, 2048],
    optimizer: { kind: 'lars', lr: 0.3, weightDecay: 1e-4, momentum: 0.9, eta: 0.02, clip: true, warmup: 0.01 },
    batchImages: 256,
    loss: ({ z }) => vicreg.loss({ z }),
  }),
  'barlow-twins': (views) => ({
    name: 'barlow-twins',
    source: 'solo-learn cifar/barlow.yaml: projector 2048-2048, lambda 0.0051, LARS lr 0.3, wd 1e-4',
    recipe: withViews(soloLearnCifar(2), views),
    projector: [2048, 2048],
    optimizer: { kind: 'lars', lr: 0.3, weightDecay: 1e-4, momentum: 0.9, eta: 0.02, clip: true, warmup: 0.01 },
    batchImages: 256,
    loss: ({ z }) => barlowTwins.loss({ z }),
  }),
  swav: (views) => ({
    name: 'swav',
    source: 'solo-learn cifar/swav.yaml: 2x32 + 6x18 crops, projector 2048-128, 3000 prototypes, T 0.1, 3 Sinkhorn iters, eps 0.05, LARS lr 0.6, wd 1e-6',
    recipe: withViews(swavMultiCrop(), views),
    projector: [2048, 128],
    prototypes: 3000,
    optimizer: { kind: 'lars', lr: 0.6, weightDecay: 1e-6, momentum: 0.9, eta: 0.02, clip: true, warmup: 0.01 },
    batchImages: 256,
    loss: ({ z, prototypes }) => swav.loss({ z, prototypes: prototypes! }),
  }),
};

export function getMethod(name: string, views?: number): MethodConfig {
  const make = METHODS[name];
  if (!make) throw new Error(`unknown method "${name}"; valid: ${Object.keys(METHODS).join(', ')}`);
  return make(views);
}
