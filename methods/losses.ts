/**
 * Every method's loss by name, in the form the reference files and `selfcheck` use:
 * named input tensors and a parameter object in, loss and named terms out.
 */
import type * as tf from '../src/tf.js';
import * as barlowTwins from './barlow_twins.js';
import * as byol from './byol.js';
import * as empSsl from './emp_ssl.js';
import type { LossResult } from './loss_common.js';
import * as simclr from './simclr.js';
import * as swav from './swav.js';
import * as vicreg from './vicreg.js';

type LossFn = (inputs: Record<string, tf.Tensor>, params: Record<string, number>) => LossResult;

export const LOSSES: Record<string, LossFn> = {
  'emp-ssl': (i, p) => empSsl.loss(i as { z: tf.Tensor }, { ...empSsl.EMP_SSL_DEFAULTS, ...p }),
  simclr: (i, p) => simclr.loss(i as { z: tf.Tensor }, { ...simclr.SIMCLR_DEFAULTS, ...p }),
  byol: (i) => byol.loss(i as { p: tf.Tensor; zt: tf.Tensor }),
  vicreg: (i, p) => vicreg.loss(i as { z: tf.Tensor }, { ...vicreg.VICREG_DEFAULTS, ...p }),
  'barlow-twins': (i, p) => barlowTwins.loss(i as { z: tf.Tensor }, { ...barlowTwins.BARLOW_TWINS_DEFAULTS, ...p }),
  swav: (i, p) => swav.loss(i as { z: tf.Tensor; prototypes: tf.Tensor }, { ...swav.SWAV_DEFAULTS, ...p }),
};
