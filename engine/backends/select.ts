/**
 * Backend selection. `auto` takes the first that starts of: tfjs-node-gpu running on a CUDA GPU, WebGPU on
 * a hardware adapter, tfjs-node, wasm, cpu; it reports what it picked and why each earlier candidate was
 * skipped. Asked for by name, tensorflow and webgpu are taken on whatever device they find (a CPU build,
 * a software adapter).
 */
import * as tf from '../tf.js';
import os from 'node:os';
import { configureOneDnn, loadOneDnn, registerOneDnnKernels, unregisterOneDnnKernels, type OneDnnStatus } from './onednn.js';
import { registerWasmConvGradients } from './wasm_conv_grads.js';
import { registerWasmMatMul } from './wasm_matmul.js';
import { registerWasmSharedIdentity } from './wasm_identity.js';
import { registerWasmReductions } from './wasm_reduce.js';
import { registerWasmTranspose } from './wasm_transpose.js';
import { loadWebGpu, type GpuAdapterInfo } from './webgpu.js';
import { checkThreadCount, MAX_WASM_THREADS, registerThreadedWasm, threadsSupported, wasmThreadsInUse } from './wasm_threaded.js';

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendInfo {
  /** tfjs backend name actually in use: `tensorflow`, `webgpu`, `wasm` or `cpu`. */
  name: string;
  /** Human description: package, build, threads. */
  label: string;
  threads: number;
  /** Candidates tried before the chosen one, with the reason each was skipped. */
  skipped: { candidate: string; reason: string }[];
  /** wasm only: the optional oneDNN kernels (native/), loaded or why not. */
  native: OneDnnStatus | null;
  /** webgpu only: the adapter it runs on. */
  adapter: GpuAdapterInfo | null;
}

export interface BackendOptions {
  backend?: BackendChoice;
  /** CPU threads for wasm and the native kernels; default: all cores. */
  threads?: number;
  /** Use the oneDNN kernels on wasm when they load (default true). */
  native?: boolean;
}

/** No candidate for the requested backend started; the message lists each one's reason. */
export class BackendUnavailableError extends Error {}

type Attempt = () => Promise<Omit<BackendInfo, 'skipped'>>;

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0];
}

async function loadTensorflowPackage(pkg: string, gpuOnly: boolean): Promise<Omit<BackendInfo, 'skipped'>> {
  if (pkg.endsWith('-gpu')) {
    // Without this TF reserves the whole card at start-up and memory figures mean nothing.
    process.env.TF_FORCE_GPU_ALLOW_GROWTH = 'true';
  }
  try {
    await import(pkg);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(`${pkg} is not installed (its install downloads libtensorflow and fails offline)`);
    }
    throw new Error(`${pkg} failed to load: ${errorText(e)}`);
  }
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but the tensorflow backend did not start`);
  // Without CUDA 11.2 and cuDNN 8.1 the GPU build loads and quietly runs on the CPU.
  const onGpu = (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
  if (gpuOnly && !onGpu) throw new Error(`${pkg} loaded but found no CUDA GPU (its libtensorflow 2.9 needs CUDA 11.2 and cuDNN 8.1)`);
  return { name: 'tensorflow', label: onGpu ? `${pkg} (CUDA)` : pkg, threads: os.availableParallelism(), native: null, adapter: null };
}

let oneDnn: ReturnType<typeof loadOneDnn> | null = null;

/**
 * Switches the wasm backend between its own kernels and the native oneDNN ones (when loaded) at run
 * time: kernels are looked up at every op, so this takes effect on the next op. Returns whether native
 * kernels are now in use.
 */
export function useNativeKernels(enabled: boolean): boolean {
  if (enabled && oneDnn?.addon) {
    registerOneDnnKernels(oneDnn.addon);
    return true;
  }
  unregisterOneDnnKernels();
  return false;
}

async function loadWasm(threads: number, native: boolean): Promise<Omit<BackendInfo, 'skipped'>> {
  await import('@tensorflow/tfjs-backend-wasm');
  const threaded = threadsSupported();
  if (threaded) registerThreadedWasm(threads);
  // The project's own wasm kernels: convolution gradients, the transposed-matmul fast path, copy-free clones,
  // a transpose that moves blocks and tiles, sums over leading axes without a transpose.
  registerWasmTranspose();
  registerWasmReductions();
  registerWasmConvGradients();
  registerWasmMatMul();
  registerWasmSharedIdentity();
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  const used = threaded ? wasmThreadsInUse() : 1;
  const build = threaded ? 'threaded SIMD' : 'SIMD, single thread (no shared wasm memory)';
  let label = `tfjs-backend-wasm (${build}, ${used} thread${used === 1 ? '' : 's'})`;
  let status: OneDnnStatus = { loaded: false, reason: 'not requested' };
  if (native) {
    oneDnn ??= loadOneDnn(threads);
    if (oneDnn.addon) oneDnn.status = configureOneDnn(oneDnn.addon, threads); // a later call may ask for another count
    status = oneDnn.status;
    if (useNativeKernels(true) && status.loaded) label += ` + oneDNN ${status.version} (${status.threads} threads)`;
  }
  return { name: 'wasm', label, threads: used, native: status, adapter: null };
}

async function loadCpu(): Promise<Omit<BackendInfo, 'skipped'>> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  // Its first kernel call prints a banner recommending tfjs-node; we already said why that was skipped.
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  return { name: 'cpu', label: 'tfjs-backend-cpu (pure JS reference, slow)', threads: 1, native: null, adapter: null };
}

async function loadWebGpuBackend(hardwareOnly: boolean): Promise<Omit<BackendInfo, 'skipped'>> {
  const { label, adapter } = await loadWebGpu(hardwareOnly);
  return { name: 'webgpu', label, threads: 1, native: null, adapter };
}

/** Initialises a backend and makes it current. */
export async function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  const choice = options.backend ?? 'auto';
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new Error(`unknown backend "${choice}"; valid: ${BACKEND_CHOICES.join(', ')}`);
  }
  const threads = options.threads ?? Math.min(os.availableParallelism(), MAX_WASM_THREADS);
  // Checked here, not in a candidate: a bad count must not read as "wasm failed, fell back to cpu".
  checkThreadCount(threads);
  const candidates: [string, Attempt][] = [];
  const auto = choice === 'auto';
  if (auto || choice === 'tensorflow') candidates.push(['tfjs-node-gpu', () => loadTensorflowPackage('@tensorflow/tfjs-node-gpu', auto)]);
  if (auto || choice === 'webgpu') candidates.push(['webgpu', () => loadWebGpuBackend(auto)]);
  if (auto || choice === 'tensorflow') candidates.push(['tfjs-node', () => loadTensorflowPackage('@tensorflow/tfjs-node', false)]);
  if (auto || choice === 'wasm') candidates.push(['wasm', () => loadWasm(threads, options.native ?? true)]);
  if (auto || choice === 'cpu') candidates.push(['cpu', loadCpu]);

  const skipped: BackendInfo['skipped'] = [];
  for (const [candidate, attempt] of candidates) {
    try {
      const info = await attempt();
      return { ...info, skipped };
    } catch (e) {
      skipped.push({ candidate, reason: errorText(e) });
    }
  }
  const reasons = skipped.map((s) => `  ${s.candidate}: ${s.reason}`).join('\n');
  throw new BackendUnavailableError(`no usable backend for --backend=${choice}:\n${reasons}`);
}

/** One line for logs: what was picked and why the others were not. */
export function describeBackend(info: BackendInfo): string {
  const notes = info.skipped.map((s) => `${s.candidate} skipped: ${s.reason}`);
  if (info.native && !info.native.loaded) notes.push(`oneDNN kernels off: ${info.native.reason}`);
  return [`backend: ${info.label}`, ...notes.map((s) => `  (${s})`)].join('\n');
}
