/**
 * The results row: one per trial x evaluation point, with every counter and metric, written to
 * results*.jsonl. Reports read only these rows and the manifest.
 */
import type { MemoryFigures } from '../measure/memory.js';
import type { RowOrigin } from './origin.js';

export const ROW_SCHEMA = 1;

/** Test-time cost of one evaluation protocol (src/eval/test_cost.ts measures it). */
export interface TestCost {
  /** "single" (the whole image) or "bagK". */
  protocol: string;
  patches: number;
  flops_per_image: number;
  latency_ms_batch1: number;
  images_per_second: number;
  /** Crops per forward pass of the throughput measurement. */
  throughput_batch_crops: number;
}

export type RowRole = 'ssl' | 'floor' | 'ceiling';

export type TrialStatus = 'ok' | 'diverged' | 'oom' | 'error';

export interface ResultRow {
  schema: typeof ROW_SCHEMA;
  run_id: string;
  trial_id: string;
  method: string;
  /** The setting's label (e.g. simclr-x20); what figures group by. */
  label: string;
  /**
   * What the trial is in the comparison: an SSL method, the untrained floor (random-init) or the supervised
   * ceiling; reports draw floor and ceiling as references. Absent in rows written before it existed: ssl.
   */
  role?: RowRole;
  dataset: string;
  backbone: string;
  seed: number;
  budget_kind: string;
  budget_amount: number;
  batch_images: number;
  crops_per_step: number;
  /** Index of the evaluation point, its planned fraction, and whether this row ends the trial. */
  point: number;
  fraction: number;
  final: boolean;
  status: TrialStatus;
  error?: string;
  /** Counters at this point (training clock only). */
  train_seconds: number;
  train_flops: number;
  crops: number;
  images: number;
  steps: number;
  epochs: number;
  /**
   * Seconds of train_seconds that steps spent waiting for their input (reading and augmenting not hidden
   * behind the previous step). Absent in rows written before it existed.
   */
  input_wait_seconds?: number;
  /** Mean training loss since the previous point (null if no step ran). */
  loss: number | null;
  lr: number;
  /** This evaluation's own wall-clock seconds (off the training clock). */
  eval_seconds: number;
  /** Accuracies in [0, 1] and selected hyperparameters (src/eval/evaluate.ts names them). */
  metrics: Record<string, number>;
  memory: MemoryFigures;
  /**
   * With --log-updates: each layer's relative update ||w_after - w_before|| / ||w_before||, mean and max over
   * the steps since the previous point (src/model/update_norms.ts).
   */
  update_norms?: Record<string, { mean: number; max: number }>;
  /** Final rows: the test-time cost of each evaluation protocol. */
  test_cost?: TestCost[];
  /** Which code on which machine wrote the row (src/results/origin.ts). Absent in rows written before it existed. */
  origin?: RowOrigin;
  time: string;
}
