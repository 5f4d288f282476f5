/**
 * The methods by name. Each method's file (methods/<name>.ts) holds its loss, views, heads and
 * optimizer defaults with their sources. `views` overrides the number of views/patches of the first
 * view spec: "SimCLR with 20 patches" is getMethod('simclr', 20).
 * LARS settings (eta 0.02, clipping, 10 of 1000 epochs of warm-up = 1 % of the budget) follow solo-learn's
 * CIFAR configs; EMP-SSL's LARS wrapper uses eta 0.005 with clipping and no warm-up.
 */
import * as barlowTwins from './barlow_twins.js';
import * as byol from './byol.js';
import * as empSsl from './emp_ssl.js';
import type { MethodConfig } from './method.js';
import * as simclr from './simclr.js';
import * as swav from './swav.js';
import * as vicreg from './vicreg.js';

export const METHODS: Record<string, (views?: number) => MethodConfig> = {
  'emp-ssl': empSsl.method,
  // The loss ablation the reviewers asked for: EMP-SSL's patches and heads, InfoNCE across its patches.
  'emp-ssl-infonce': (views) => ({
    ...empSsl.method(views),
    name: 'emp-ssl-infonce',
    source: 'EMP-SSL with its loss replaced by InfoNCE over the patches of each image (temperature 0.2)',
    loss: ({ z }) => simclr.loss({ z }),
  }),
  simclr: simclr.method,
  byol: byol.method,
  vicreg: vicreg.method,
  'barlow-twins': barlowTwins.method,
  swav: swav.method,
};

export function getMethod(name: string, views?: number): MethodConfig {
  const make = METHODS[name];
  if (!make) throw new Error(`unknown method "${name}"; valid: ${Object.keys(METHODS).join(', ')}`);
  return make(views);
}
