/**
 * Where a suite's method entry trains differently from the method's source: the method file's listed departures
 * and every setting the entry changes, each with the source's value (methods/settings.ts derives the lines from
 * the settings tables). The run writes them into manifest.json; reports list them under the accounting rules.
 */
import { getMethod } from '../../methods/registry.js';
import { describeEntry } from '../../methods/settings.js';
import type { MethodEntry } from './suite.js';

/** One line per departure, e.g. "lr 1 (source 1 x batch / 256 = 0.25)". `batchControl`: the suite's batch-size control. */
export function describeDepartures(entry: MethodEntry, batchControl?: number): string[] {
  const base = getMethod(entry.method, entry.views);
  if (base.role !== 'ssl') return [];
  return describeEntry({ ...entry, batchImages: batchControl ?? entry.batchImages }, base, getMethod(entry.method));
}
