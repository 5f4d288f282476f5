/**
 * Registers tfjs's multi-threaded SIMD wasm build as the `wasm` backend in Node.
 *
 * tfjs-backend-wasm 4.22 starts its pthread workers from a `blob:` URL, which Node's worker_threads
 * reject, so out of the box Node gets the single-threaded build. Emscripten's Node path is happy with
 * file paths, so we write the worker script to a cache file once and hand Emscripten file paths for both
 * the worker and the main script.
 *
 * Thread count: the C++ side sizes XNNPACK's thread pool as `emscripten_num_logical_cores() / 2` when its
 * module initialises (it assumes hyper-threading), and Emscripten answers that in Node with
 * `os.cpus().length`. We report `2 * threads` logical cores while the module starts, then restore.
 */
import * as tf from '../tf.js';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);

interface WasmPackage {
  BackendWasm: new (module: unknown) => tf.KernelBackend;
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

type EmscriptenFactory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;
interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...args: number[]) => number;
  tfjs?: Record<string, unknown>;
}

/** tfjs builds its threaded wasm with a pool of 8 pre-started workers. */
export const MAX_WASM_THREADS = 8;

export function threadsSupported(): boolean {
  try {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return mem.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/** Writes the worker script where Node can load it; idempotent and safe under concurrent processes. */
function workerScriptPath(wasmOutDir: string): string {
  const { wasmWorkerContents } = require(path.join(wasmOutDir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  // The contents were a template literal: real newlines inside string literals must be escaped again,
  // exactly as tfjs does before making its Blob.
  const script = wasmWorkerContents.replace(/\n/g, '\\n');
  const digest = createHash('sha256').update(script).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), 'ssl-budget-bench');
  const file = path.join(dir, `tfjs-wasm-worker-${digest}.cjs`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, script);
    fs.renameSync(tmp, file);
  }
  return file;
}

/**
 * Replaces the `wasm` backend's factory with one that loads the threaded build with `threads` threads.
 * Call before `tf.setBackend('wasm')`.
 */
let registeredThreads = 0;

export function checkThreadCount(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) {
    throw new Error(`threads must be an integer from 1 to ${MAX_WASM_THREADS}, got ${threads}`);
  }
}

export function registerThreadedWasm(threads: number, priority = 2): void {
  checkThreadCount(threads);
  // Keep a running backend (and its worker pool) when nothing changes.
  if (registeredThreads === threads) return;
  registeredThreads = threads;
  const wasmPkg = require('@tensorflow/tfjs-backend-wasm') as WasmPackage;
  const wasmOutDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const mainScript = path.join(wasmOutDir, 'tfjs-backend-wasm-threaded-simd.js');
  const factory = require(mainScript) as EmscriptenFactory;

  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      const workerScript = workerScriptPath(wasmOutDir);
      const realCpus = os.cpus;
      const cpu = realCpus()[0];
      os.cpus = () => Array.from({ length: 2 * threads }, () => cpu);
      let module: EmscriptenModule;
      try {
        module = await factory({
          locateFile: (file: string) =>
            file.endsWith('.worker.js') ? workerScript : path.join(wasmOutDir, 'tfjs-backend-wasm-threaded-simd.wasm'),
          mainScriptUrlOrBlob: mainScript,
        });
      } finally {
        os.cpus = realCpus;
      }
      // The same C entry points tfjs binds in its own init().
      module.tfjs = {
        init: module.cwrap('init', null, []),
        initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
        getThreadsCount: module.cwrap('get_threads_count', 'number', []),
        registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
        disposeData: module.cwrap('dispose_data', null, ['number']),
        dispose: module.cwrap('dispose', null, []),
      };
      wasmPkg.setThreadsCount(threads);
      return new wasmPkg.BackendWasm(module);
    },
    priority,
  );
}

export function wasmThreadsInUse(): number {
  return (require('@tensorflow/tfjs-backend-wasm') as WasmPackage).getThreadsCount();
}
