/**
 * The WebGPU backend: `@tensorflow/tfjs-backend-webgpu` on Dawn's Node binding (npm `webgpu`, prebuilt,
 * an optional dependency). A GPU path that needs no CUDA (tfjs-node-gpu's libtensorflow 2.9 needs CUDA
 * 11.2), and on a CPU-only machine a correctness path through a software Vulkan driver (Mesa's lavapipe).
 *
 * In Node the backend cannot read tensors synchronously (its readSync draws to an OffscreenCanvas):
 * code that must run on it reads with `await t.data()`.
 */
import * as tf from '../tf.js';

/** What the adapter says of itself; recorded in run manifests. */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  /** Driver and version where the platform gives them (e.g. "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)"). */
  description: string;
  /** A software rasteriser (lavapipe, SwiftShader) rather than a GPU. */
  fallback: boolean;
}

export interface WebGpuLoad {
  label: string;
  adapter: GpuAdapterInfo;
}

let gpu: GPU | null = null;

/** Dawn's GPU object, created once and installed as `navigator.gpu` (where tfjs looks for it). */
async function dawn(): Promise<GPU> {
  if (gpu) return gpu;
  let binding: { create(flags: string[]): GPU; globals: object };
  try {
    binding = (await import('webgpu')) as typeof binding;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error('the webgpu package (Dawn for Node, an optional dependency) is not installed: run npm ci without --omit=optional');
    }
    throw new Error(`the webgpu package failed to load: ${e instanceof Error ? e.message : String(e)}`);
  }
  gpu = binding.create([]);
  // tfjs-backend-webgpu uses the WebGPU constants (GPUBufferUsage, ...) as globals, as in a browser.
  Object.assign(globalThis, binding.globals);
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return gpu;
}

/** The adapter tfjs will use (it asks for high performance), or null when there is none. */
export async function findGpuAdapter(): Promise<GpuAdapterInfo | null> {
  const adapter = await (await dawn()).requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return null;
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    // Chrome-era Dawn put the flag on the adapter, the current spec on its info; lavapipe reports "software".
    fallback: Boolean(info.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter) || info.architecture === 'software',
  };
}

export function describeAdapter(a: GpuAdapterInfo): string {
  const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(' ');
  return `${name}${a.description ? `; ${a.description}` : ''}${a.fallback ? ' [software fallback]' : ''}`;
}

/**
 * Starts tfjs on WebGPU. With `hardwareOnly` (what `--backend=auto` asks) a software adapter is refused:
 * lavapipe runs convolutions at a few GFLOP/s, far slower than the wasm backend on the same cores.
 */
export async function loadWebGpu(hardwareOnly: boolean): Promise<WebGpuLoad> {
  const adapter = await findGpuAdapter();
  if (!adapter) {
    throw new Error('no WebGPU adapter (no GPU with a Vulkan driver; on a CPU-only machine install Mesa >= 25 lavapipe: mesa-vulkan-drivers from bookworm-backports)');
  }
  if (hardwareOnly && adapter.fallback) {
    throw new Error(`only a software adapter (${describeAdapter(adapter)}); ask for --backend=webgpu to use it anyway`);
  }
  // The backend registers itself at import, and only if navigator.gpu exists then: import it after dawn().
  await import('@tensorflow/tfjs-backend-webgpu');
  let started = false;
  try {
    started = await tf.setBackend('webgpu');
  } catch (e) {
    throw new Error(`the webgpu backend failed to start on ${describeAdapter(adapter)}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!started) throw new Error(`the webgpu backend failed to start on ${describeAdapter(adapter)} (its device request was refused)`);
  return { label: `tfjs-backend-webgpu on ${describeAdapter(adapter)}`, adapter };
}
