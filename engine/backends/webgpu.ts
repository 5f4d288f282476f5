/**
 * The WebGPU backend: `@tensorflow/tfjs-backend-webgpu` on Dawn's Node binding (npm `webgpu`, prebuilt,
 * an optional dependency). A GPU path that needs no CUDA (tfjs-node-gpu's libtensorflow 2.9 needs CUDA
 * 11.2), and on a CPU-only machine a correctness path through a software Vulkan driver (Mesa's lavapipe).
 *
 * In Node the backend cannot read tensors synchronously (its readSync draws to an OffscreenCanvas):
 * code that must run on it reads with `await t.data()`.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
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

const NOT_INSTALLED = 'the webgpu package (Dawn for Node, an optional dependency) is not installed: run npm ci without --omit=optional';

/** Dawn's GPU object, created once and installed as `navigator.gpu` (where tfjs looks for it). */
async function dawn(): Promise<GPU> {
  if (gpu) return gpu;
  let binding: { create(flags: string[]): GPU; globals: object };
  try {
    binding = (await import('webgpu')) as typeof binding;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new Error(NOT_INSTALLED);
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

/** What an adapter says of itself, as plain data (also what the probe process prints). */
interface RawAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The current spec has it on the info, Chrome-era Dawn on the adapter. */
  isFallbackAdapter?: boolean;
}

function adapterInfo(raw: RawAdapterInfo): GpuAdapterInfo {
  const { vendor, architecture, device, description } = raw;
  // lavapipe and SwiftShader also say "software" as their architecture.
  return { vendor, architecture, device, description, fallback: raw.isFallbackAdapter === true || architecture === 'software' };
}

/** The adapter tfjs will use (it asks for high performance), or null when there is none. */
export async function findGpuAdapter(): Promise<GpuAdapterInfo | null> {
  const adapter = await (await dawn()).requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return null;
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const { vendor, architecture, device, description } = info;
  return adapterInfo({
    vendor,
    architecture,
    device,
    description,
    isFallbackAdapter: info.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter,
  });
}

/**
 * findGpuAdapter in a child process, for `auto`: on machines with no GPU (most CPU runs) Dawn prints
 * driver warnings to stderr that would only confuse, and a native crash on an odd driver must not take
 * the benchmark down. Dawn is loaded here only once a hardware adapter is known to exist.
 */
export function probeGpuAdapter(timeoutMs = 30_000): Promise<GpuAdapterInfo | null> {
  let url: string;
  try {
    url = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
  } catch {
    return Promise.reject(new Error(NOT_INSTALLED));
  }
  const script = `const { create } = await import(${JSON.stringify(url)});
const a = await create([]).requestAdapter({ powerPreference: 'high-performance' });
const i = a && a.info;
process.stdout.write(JSON.stringify(i && { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: i.isFallbackAdapter ?? a.isFallbackAdapter }));
process.exit(0);`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `timed out after ${timeoutMs / 1000} s` : stderr.trim().split('\n').pop() || err.message;
        reject(new Error(`the WebGPU adapter probe failed: ${why}`));
        return;
      }
      const raw = JSON.parse(stdout || 'null') as RawAdapterInfo | null;
      resolve(raw && adapterInfo(raw));
    });
  });
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
  const noAdapter =
    'no WebGPU adapter (no GPU with a Vulkan driver; on a CPU-only machine install Mesa >= 25 lavapipe: mesa-vulkan-drivers from bookworm-backports)';
  if (hardwareOnly) {
    const probed = await probeGpuAdapter();
    if (!probed) throw new Error(noAdapter);
    if (probed.fallback) throw new Error(`only a software adapter (${describeAdapter(probed)}); ask for --backend=webgpu to use it anyway`);
  }
  const adapter = await findGpuAdapter();
  if (!adapter) throw new Error(noAdapter);
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
