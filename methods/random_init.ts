/**
 * The floor of every comparison: the same backbone, untrained (its seeded initialisation), evaluated by the
 * same probes. A method that does not beat it by a clear margin has not learned anything the probe could
 * not find in random features. It takes no training step, whatever the budget.
 */
import { soloLearnCifar } from '../datasets/augment/recipes.js';
import type { MethodConfig, MethodDefinition } from './method.js';

export function method(): MethodConfig {
  return {
    name: 'random-init',
    source: "the backbone at its seeded initialisation (projector of SimCLR's shape, for the pre-feature layer); never trained",
    recipe: soloLearnCifar(1),
    projector: [2048, 256],
    optimizer: { kind: 'sgd', lr: 0, weightDecay: 0, momentum: 0 },
    batchImages: 1,
    role: 'floor',
    settings: {},
    params: {},
    loss: () => {
      throw new Error('random-init is never trained');
    },
  };
}

export const definition: MethodDefinition = { name: 'random-init', make: method };
