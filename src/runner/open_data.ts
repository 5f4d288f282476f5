/**
 * A run's datasets, opened and checked before its first trial trains (and before its directory is made), so a
 * missing or damaged copy of the second dataset of a suite stops the run at the start rather than hours in.
 * Each dataset is loaded, and its evaluation splits drawn, once per run.
 */
import { loadDataset } from '../../datasets/registry.js';
import { DatasetError } from '../../datasets/types.js';
import { evalSplits } from '../eval/splits.js';
import { isKnownSystemError, storageError } from '../results/disk.js';
import type { EvaluationSettings } from './suite.js';
import type { EvalTarget } from './trial.js';
import type { Trial } from './trials.js';

/** The datasets `trials` train on or transfer to, by name; a DatasetError listing every one that fails. */
export async function openDatasets(trials: Trial[], evaluation: EvaluationSettings, dataRoot: string): Promise<Map<string, EvalTarget>> {
  const names = [...new Set(trials.flatMap((t) => [t.dataset, ...(evaluation.transfer[t.dataset] ?? [])]))];
  const targets = new Map<string, EvalTarget>();
  const problems: string[] = [];
  for (const name of names) {
    try {
      const dataset = await loadDataset(name, dataRoot);
      targets.set(name, { dataset, splits: evalSplits(dataset, evaluation) });
    } catch (e) {
      if (e instanceof DatasetError) problems.push(`${name}: ${e.message}`);
      else if (isKnownSystemError(e)) problems.push(`${name}: ${(storageError(e, e.path ?? dataRoot) as Error).message}`);
      else throw e;
    }
  }
  if (problems.length > 0)
    throw new DatasetError(
      `${problems.length} of the run's ${names.length} dataset(s) cannot be read (data root ${dataRoot}); nothing was run:\n  ${problems.join('\n  ')}\n` +
        `fix each as it says (npm run data -- verify NAME --dir ${dataRoot} checks a copy), or name another data root with --data-dir`,
    );
  return targets;
}
