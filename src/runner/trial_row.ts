/**
 * The result row of one trial at one evaluation point: every counter at that point, the metrics, memory
 * and what the method is (its role), built from the trial and the runner's state.
 */
import type { MethodRole } from '../../methods/method.js';
import type { MemoryFigures } from '../measure/memory.js';
import type { RowOrigin } from '../results/origin.js';
import { ROW_SCHEMA, type ResultRow, type TrialStatus } from '../results/rows.js';
import type { Counters } from './budget.js';
import type { Trial } from './trials.js';

/** What a row needs from the trial as it runs. */
export interface RowContext {
  runId: string;
  trial: Trial;
  role: MethodRole;
  images: number;
  crops: number;
  point: number;
  counters: Counters;
  /** Training-clock seconds the steps waited for input. */
  inputWaitSeconds: number;
  /** Mean training loss since the previous point (null when no step ran). */
  loss: number | null;
  lr: number;
  memory: MemoryFigures;
  /** Which code on which machine writes the row. */
  origin: RowOrigin;
}

export function buildRow(
  c: RowContext,
  status: TrialStatus,
  final: boolean,
  metrics: Record<string, number>,
  evalSeconds: number,
  extra: Partial<ResultRow> = {},
): ResultRow {
  const { trial, counters } = c;
  return {
    schema: ROW_SCHEMA,
    run_id: c.runId,
    trial_id: trial.id,
    method: trial.method.method,
    label: trial.method.label,
    role: c.role,
    dataset: trial.dataset,
    backbone: trial.backbone,
    seed: trial.seed,
    budget_kind: trial.budget.kind,
    budget_amount: trial.budget.amount,
    batch_images: c.images,
    crops_per_step: c.crops,
    point: c.point,
    fraction: final ? 1 : trial.evaluation.fractions[c.point],
    final,
    status,
    train_seconds: counters.seconds,
    train_flops: counters.flops,
    crops: counters.crops,
    images: counters.images,
    steps: counters.steps,
    epochs: counters.epochs,
    input_wait_seconds: c.inputWaitSeconds,
    loss: c.loss,
    lr: c.lr,
    eval_seconds: evalSeconds,
    metrics,
    memory: c.memory,
    origin: c.origin,
    time: new Date().toISOString(),
    ...extra,
  };
}

/** The larger of two memory readings, figure by figure (a figure a backend cannot measure is null). */
export function maxMemory(a: MemoryFigures, b: MemoryFigures): MemoryFigures {
  const max = (x: number | null, y: number | null) => (x === null ? y : y === null ? x : Math.max(x, y));
  return {
    tensor_peak_bytes: Math.max(a.tensor_peak_bytes, b.tensor_peak_bytes),
    step_peak_bytes: max(a.step_peak_bytes, b.step_peak_bytes),
    rss_peak_bytes: Math.max(a.rss_peak_bytes, b.rss_peak_bytes),
    gpu_peak_bytes: max(a.gpu_peak_bytes, b.gpu_peak_bytes),
    webgpu_allocated_peak_bytes: max(a.webgpu_allocated_peak_bytes ?? null, b.webgpu_allocated_peak_bytes ?? null),
  };
}
