/**
 * Memory figures of a trial, each labelled with what it measures:
 *  - tensor_peak_bytes: the largest tf.memory().numBytes seen at step ends (tensors alive between steps:
 *    parameters, optimizer state, anything leaked);
 *  - step_peak_bytes: tf.profile's peakBytes over one whole training step (activations and gradients
 *    included: the figure comparable to a GPU's peak allocation);
 *  - rss_peak_bytes: the process's resident set at step ends (on wasm it includes the whole wasm heap,
 *    which never shrinks, so it is a high-water mark of the process so far);
 *  - gpu_peak_bytes: this process's GPU memory from nvidia-smi, on NVIDIA machines, else null;
 *  - webgpu_allocated_peak_bytes: on the webgpu backend, the bytes of GPU buffers it holds (its own
 *    figure, tf.memory().numBytesAllocatedInGPU, at step ends; freed buffers stay in its reuse pool, so
 *    this is a high-water mark of what it asked the driver for), else null.
 */
import * as tf from '../../engine/tf.js';
import { GpuMemoryPoller } from './gpu_memory.js';

export interface MemoryFigures {
  tensor_peak_bytes: number;
  step_peak_bytes: number | null;
  rss_peak_bytes: number;
  gpu_peak_bytes: number | null;
  /** Optional: rows written before the webgpu backend existed lack it. */
  webgpu_allocated_peak_bytes?: number | null;
}

export const MEMORY_NOTES = {
  tensor_peak_bytes: 'largest tf.memory().numBytes at step ends (parameters, optimizer state)',
  step_peak_bytes: 'tf.profile peakBytes of one training step (activations and gradients included)',
  rss_peak_bytes: 'process resident set at step ends (includes the wasm heap, which never shrinks)',
  gpu_peak_bytes: 'this process on the GPU, from nvidia-smi --query-compute-apps (NVIDIA only)',
  webgpu_allocated_peak_bytes: 'GPU buffers held by the webgpu backend at step ends, its reuse pool included (its own figure; webgpu only)',
};

const NO_FIGURES: MemoryFigures = {
  tensor_peak_bytes: 0,
  step_peak_bytes: null,
  rss_peak_bytes: 0,
  gpu_peak_bytes: null,
  webgpu_allocated_peak_bytes: null,
};

export class MemoryMonitor {
  private figures: MemoryFigures = { ...NO_FIGURES };

  constructor(private readonly gpu = new GpuMemoryPoller()) {}

  startTrial(): void {
    this.figures = { ...NO_FIGURES };
    this.gpu.reset();
    this.gpu.start();
  }

  /** Call at each step end. */
  sample(): void {
    const memory = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number };
    this.figures.tensor_peak_bytes = Math.max(this.figures.tensor_peak_bytes, memory.numBytes);
    if (memory.numBytesAllocatedInGPU !== undefined) {
      this.figures.webgpu_allocated_peak_bytes = Math.max(this.figures.webgpu_allocated_peak_bytes ?? 0, memory.numBytesAllocatedInGPU);
    }
    this.figures.rss_peak_bytes = Math.max(this.figures.rss_peak_bytes, process.memoryUsage.rss());
  }

  /** Runs one step under tf.profile and keeps its peak. */
  async profileStep<T>(step: () => Promise<T>): Promise<T> {
    let result: T;
    const info = await tf.profile(async () => {
      result = await step();
      return [];
    });
    this.figures.step_peak_bytes = Math.max(this.figures.step_peak_bytes ?? 0, info.peakBytes);
    return result!;
  }

  read(): MemoryFigures {
    return { ...this.figures, gpu_peak_bytes: this.gpu.peakBytes() };
  }

  gpuNote(): string | null {
    return this.gpu.unavailable;
  }

  stop(): void {
    this.gpu.stop();
  }
}
