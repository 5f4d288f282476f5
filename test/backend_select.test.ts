import { describe, expect, it } from 'vitest';
import * as tf from '../engine/tf.js';
import { loadOneDnn } from '../engine/backends/onednn.js';
import { describeBackend, initBackend, type BackendChoice } from '../engine/backends/select.js';
import { webgpuAvailable } from './helpers.js';
import { requires } from './requirements.js';

const WEBGPU = await webgpuAvailable();
const WEBGPU_ADAPTER = requires(
  'a WebGPU adapter',
  WEBGPU,
  'Dawn (the webgpu package) with Mesa >= 25 lavapipe: apt-get install -t bookworm-backports mesa-vulkan-drivers',
);

describe('backend selection', () => {
  it('auto falls through the tfjs-node packages and a software WebGPU adapter to threaded wasm and says why', async () => {
    const info = await initBackend({ backend: 'auto', threads: 2 });
    // On this machine and in CI the tfjs-node packages cannot install (no libtensorflow download).
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.threads).toBe(2);
    expect(info.label).toMatch(/threaded SIMD, 2 threads/);
    expect(info.skipped.map((s) => s.candidate)).toEqual(['tfjs-node-gpu', 'webgpu', 'tfjs-node']);
    expect(info.skipped[0].reason).toMatch(/not installed/);
    // No GPU here: lavapipe is a software adapter, which auto never picks (it is ~100x slower than wasm).
    expect(info.skipped[1].reason).toMatch(
      WEBGPU
        ? /only a software adapter \(.*llvmpipe.*\[software fallback\]\); ask for --backend=webgpu/
        : /no WebGPU adapter|not installed/,
    );
    expect(info.adapter).toBeNull();
    expect(describeBackend(info)).toMatch(/tfjs-node-gpu skipped/);
    expect(process.env.TF_FORCE_GPU_ALLOW_GROWTH).toBe('true');
  });

  it('reports the oneDNN kernels: loaded with version and threads, or why not', async () => {
    const info = await initBackend({ backend: 'wasm', threads: 2 });
    if (info.native?.loaded) {
      expect(info.label).toMatch(/\+ oneDNN 2\.\d+\.\d+ \(2 threads\)/);
    } else {
      expect(info.native?.reason).toMatch(/libdnnl-dev|failed to load/);
      expect(describeBackend(info)).toMatch(/oneDNN kernels off/);
    }
    if (process.env.CI) expect(info.native?.loaded).toBe(true); // .ci/run installs libdnnl-dev
  });

  it('SSL_BENCH_NO_NATIVE=1 turns the addon off with a clear reason', () => {
    process.env.SSL_BENCH_NO_NATIVE = '1';
    try {
      expect(loadOneDnn(2)).toEqual({ addon: null, status: { loaded: false, reason: 'disabled by SSL_BENCH_NO_NATIVE=1' } });
    } finally {
      delete process.env.SSL_BENCH_NO_NATIVE;
    }
  });

  it('explicit cpu', async () => {
    const info = await initBackend({ backend: 'cpu' });
    expect(info.name).toBe('cpu');
    expect(info.skipped).toEqual([]);
  });

  it('explicit tensorflow fails with the reasons when the packages are absent', async () => {
    await expect(initBackend({ backend: 'tensorflow' })).rejects.toThrow(
      /no usable backend for --backend=tensorflow:\n {2}tfjs-node-gpu: .*not installed/,
    );
  });

  it('rejects unknown names and bad thread counts', async () => {
    await expect(initBackend({ backend: 'webgl' as BackendChoice })).rejects.toThrow(/valid: auto, tensorflow, webgpu, wasm, cpu/);
    await expect(initBackend({ backend: 'auto', threads: 0 })).rejects.toThrow(/threads must be an integer from 1 to 8, got 0/);
    await expect(initBackend({ backend: 'auto', threads: 2.5 })).rejects.toThrow(/threads must be an integer/);
  });

  WEBGPU_ADAPTER('explicit webgpu starts on a software adapter and describes it', async () => {
    const info = await initBackend({ backend: 'webgpu' });
    expect(info.name).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(info.adapter).toMatchObject({ vendor: 'mesa', architecture: 'software', fallback: true });
    expect(info.adapter!.description).toMatch(/llvmpipe: Mesa \d+/);
    expect(info.label).toMatch(/^tfjs-backend-webgpu on mesa software .*\[software fallback\]$/);
    // Its own allocated-bytes figure, which the memory monitor records.
    // A kernel's output lives in a GPU buffer (small ops and bare uploads stay on the CPU).
    const t = tf.matMul(tf.ones([64, 64]), tf.ones([64, 64]));
    expect((tf.memory() as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU).toBeGreaterThanOrEqual(64 * 64 * 4);
    expect((await t.data())[0]).toBe(64);
    t.dispose();
  });
});
