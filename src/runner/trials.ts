/**
 * A suite expanded into trials: method x dataset x budget x seed, each with an id derived from its
 * content (a hash of everything that determines its result), sorted, so the same suite gives the same
 * list on every machine. Results, checkpoints and resume all key on the id.
 */
import { createHash } from 'node:crypto';
import type { Budget } from './budget.js';
import type { EvaluationSettings, MethodEntry, Suite } from './suite.js';

export interface Trial {
  id: string;
  method: MethodEntry;
  dataset: string;
  backbone: string;
  budget: Budget;
  seed: number;
  /** Same batch size for every method (the batch-size control), when set. */
  batchImages?: number;
  evaluation: EvaluationSettings;
}

/** JSON with object keys sorted, so equal content always hashes alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function trialId(content: Omit<Trial, 'id'>): string {
  return createHash('sha256').update(canonicalJson(content)).digest('hex').slice(0, 12);
}

/** Sort key: dataset, budget, method label, seed (then id, for ties of equal content). */
function sortKey(t: Trial): string {
  return [t.dataset, t.budget.kind, t.budget.amount.toExponential(6), t.method.label, String(t.seed).padStart(6, '0'), t.id].join('\u0000');
}

export function expandTrials(suite: Suite): Trial[] {
  const trials: Trial[] = [];
  for (const dataset of suite.datasets) {
    for (const budget of suite.budgets) {
      for (const method of suite.methods) {
        for (const seed of suite.seeds) {
          const content = {
            method,
            dataset: dataset.name,
            backbone: dataset.backbone,
            budget,
            seed,
            batchImages: suite.controls.batchImages,
            evaluation: suite.evaluation,
          };
          trials.push({ id: trialId(content), ...content });
        }
      }
    }
  }
  return trials.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
}

/** "simclr-x20 on cifar10 (resnet18), seed 1" */
export function describeTrial(t: Trial): string {
  return `${t.method.label} on ${t.dataset} (${t.backbone}), seed ${t.seed}`;
}
