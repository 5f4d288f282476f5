/**
 * The loss ablation the reviewers asked for: EMP-SSL's patches and heads, with its loss replaced by
 * SimCLR's InfoNCE over the patches of each image (temperature 0.2).
 */
import * as empSsl from './emp_ssl.js';
import type { MethodConfig, MethodDefinition } from './method.js';
import { ownDefaults } from './settings.js';
import * as simclr from './simclr.js';

export function method(views?: number): MethodConfig {
  return {
    ...empSsl.method(views),
    name: 'emp-ssl-infonce',
    source: 'EMP-SSL with its loss replaced by InfoNCE over the patches of each image (temperature 0.2)',
    settings: simclr.SETTINGS,
    params: ownDefaults(simclr.SETTINGS),
    loss: ({ z }, p) => simclr.loss({ z }, p as unknown as simclr.SimClrLossParams),
  };
}

export const definition: MethodDefinition = { name: 'emp-ssl-infonce', make: method };
