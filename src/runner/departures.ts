/**
 * Where a suite's method setting trains differently from the method's source: the method file's own listed
 * departures (methods/*.ts `departures`, checked against ../shared/reference/baselines.json by
 * test/baselines_config.test.ts) and every setting the suite overrides, each with the source's value.
 * The run writes them into manifest.json; reports list them under the accounting rules.
 */
import type { MethodConfig } from '../../methods/method.js';
import { getMethod } from '../../methods/registry.js';
import type { MethodEntry } from './suite.js';

const widths = (xs: number[]) => xs.join('-');
const percent = (x: number) => `${+(x * 100).toFixed(2)} %`;

/** One line per departure, e.g. "lr 1 (source 1 x batch / 256 = 0.25)". `batchControl`: the suite's batch-size control. */
export function describeDepartures(entry: MethodEntry, batchControl?: number): string[] {
  const base: MethodConfig = getMethod(entry.method, entry.views);
  if (base.role !== 'ssl') return [];
  // Fields that depart for one reason (every view group's interpolation) share a line.
  const fields = new Map<string, string[]>();
  for (const [field, why] of Object.entries(base.departures ?? {})) fields.set(why, [...(fields.get(why) ?? []), field]);
  const lines = [...fields].map(([why, names]) => `${names.join(', ')}: ${why}`);
  if (entry.views !== undefined)
    lines.push(`views ${entry.views} of the first view group (source: ${getMethod(entry.method).recipe.name})`);
  const batch = batchControl ?? entry.batchImages;
  if (batch !== undefined && batch !== base.batchImages) lines.push(`batch ${batch} images (source ${base.batchImages})`);
  if (entry.lr !== undefined) {
    const scaled = base.lrScaling === 'none' ? base.optimizer.lr : (base.optimizer.lr * (batch ?? base.batchImages)) / base.batchImages;
    if (entry.lr !== scaled)
      lines.push(
        `lr ${entry.lr} (source ${base.optimizer.lr} at batch ${base.batchImages}${scaled !== base.optimizer.lr ? `, ${+scaled.toPrecision(4)} by its batch rule` : ''})`,
      );
  }
  if (entry.optimizer !== undefined && entry.optimizer !== base.optimizer.kind)
    lines.push(
      `optimizer ${entry.optimizer === 'sgd' ? 'SGD with momentum' : 'LARS'} (source ${base.optimizer.kind === 'sgd' ? 'SGD' : 'LARS'})`,
    );
  if (entry.weightDecay !== undefined && entry.weightDecay !== base.optimizer.weightDecay)
    lines.push(`weight decay ${entry.weightDecay} (source ${base.optimizer.weightDecay})`);
  for (const [module, scale] of Object.entries(entry.stepScales ?? {}))
    if (scale !== 1) lines.push(`${module} steps x${scale} (source: one rate for every module)`);
  if (entry.warmup !== undefined && entry.warmup !== (base.optimizer.warmup ?? 0))
    lines.push(`warm-up ${percent(entry.warmup)} of the budget (source ${percent(base.optimizer.warmup ?? 0)})`);
  if (entry.warmupSteps !== undefined) lines.push(`warm-up at least ${entry.warmupSteps} optimizer steps (source: no step floor)`);
  if (entry.projector && widths(entry.projector) !== widths(base.projector))
    lines.push(`projector ${widths(entry.projector)} (source ${widths(base.projector)})`);
  if (entry.projectorBatchNorm !== undefined && entry.projectorBatchNorm !== (base.projectorBatchNorm ?? true))
    lines.push(`projector batch norm ${entry.projectorBatchNorm ? 'on' : 'off'} (source ${entry.projectorBatchNorm ? 'off' : 'on'})`);
  if (entry.augmentation === 'solo-plain')
    lines.push(`every view from solo-learn's plain CIFAR group, no blur or solarisation (source: ${base.recipe.name})`);
  for (const [name, value] of Object.entries(entry.loss ?? {}))
    if (value !== base.lossParams[name]) lines.push(`loss ${name} ${value} (source ${base.lossParams[name]})`);
  if (entry.ema && (entry.ema.start !== base.ema?.start || entry.ema.end !== base.ema?.end))
    lines.push(`target momentum ${entry.ema.start} -> ${entry.ema.end} (source ${base.ema?.start} -> ${base.ema?.end})`);
  if (entry.prototypes !== undefined && entry.prototypes !== base.prototypes)
    lines.push(`${entry.prototypes} prototypes (source ${base.prototypes})`);
  if (entry.cropScale) {
    const own = base.recipe.views[0].crop.scale;
    if (entry.cropScale.join('-') !== own.join('-'))
      lines.push(`large views cropped at ${entry.cropScale.join('-')} of the area (source ${own.join('-')})`);
  }
  if (entry.freezePrototypes !== undefined && entry.freezePrototypes !== base.freezePrototypes)
    lines.push(`prototypes frozen for ${percent(entry.freezePrototypes)} of the budget (source ${percent(base.freezePrototypes ?? 0)})`);
  if (entry.queueStart !== undefined && entry.queueStart !== base.queue?.start)
    lines.push(
      `queue joins the assignments ${entry.queueStart >= 1 ? 'never' : `from ${percent(entry.queueStart)} of the budget`} (source ${percent(base.queue!.start)})`,
    );
  return lines;
}
