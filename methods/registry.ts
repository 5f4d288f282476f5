/**
 * The methods by name: one line each. A method's file (methods/<name>.ts) holds its loss, views, heads
 * and optimizer defaults with their sources, and exports its `definition`. `views` overrides the number
 * of views/patches of the first view spec: "SimCLR with 20 patches" is getMethod('simclr', 20).
 * `random-init` and `supervised` are the reference rows (the floor and the ceiling), entered like methods.
 */
import * as barlowTwins from './barlow_twins.js';
import * as byol from './byol.js';
import * as empSsl from './emp_ssl.js';
import * as empSslInfonce from './emp_ssl_infonce.js';
import type { MethodConfig, MethodDefinition } from './method.js';
import * as mocov2plus from './mocov2plus.js';
import * as randomInit from './random_init.js';
import * as simclr from './simclr.js';
import * as supervised from './supervised.js';
import * as swav from './swav.js';
import * as vicreg from './vicreg.js';

const DEFINITIONS: MethodDefinition[] = [
  empSsl.definition,
  empSslInfonce.definition,
  simclr.definition,
  byol.definition,
  vicreg.definition,
  barlowTwins.definition,
  swav.definition,
  mocov2plus.definition,
  // The reference rows every suite can name: the untrained floor and the supervised ceiling.
  randomInit.definition,
  supervised.definition,
];

export const METHODS: Record<string, MethodDefinition> = Object.fromEntries(DEFINITIONS.map((d) => [d.name, d]));

export function getMethod(name: string, views?: number): MethodConfig {
  const definition = METHODS[name];
  if (!definition) throw new Error(`unknown method "${name}"; valid: ${Object.keys(METHODS).join(', ')}`);
  return definition.make(views);
}
