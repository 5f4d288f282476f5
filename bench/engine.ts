/**
 * npm run bench:engine -- [--backend=auto|tensorflow|webgpu|wasm|cpu] [--threads=N] [--cases=a,b]
 *                         [--crops=N] [--steps=N] [--warmup=N] [--profile] [--no-torch] [--json]
 */
import os from 'node:os';
import { ENGINE_CASES, runEngineCase, withCrops, type StepTiming } from '../src/cases/engine_cases.js';
import { runTorchStep, torchUnavailableReason, type TorchResult } from '../src/cases/torch_reference.js';
import { BACKEND_CHOICES, describeBackend, initBackend, useNativeKernels } from '../engine/backends/select.js';
import { MAX_WASM_THREADS } from '../engine/backends/wasm_threaded.js';
import { parseBackendFlag, parseFlags, parseIntFlag, runMain, UsageError } from '../src/cli.js';

const USAGE = `usage: npm run bench:engine -- [options]

Measures training-step throughput (crops/s and GFLOP/s by the project's FLOP rule) of the engine,
and of PyTorch on the same shapes when Debian's python3-torch is installed.

cases:
${ENGINE_CASES.map((c) => `  ${c.name.padEnd(16)} ${c.description}`).join('\n')}

options:
  --backend=NAME   ${BACKEND_CHOICES.join('|')} (default auto)
  --threads=N      CPU threads for wasm and PyTorch (default: all ${os.availableParallelism()} cores)
  --cases=a,b      cases to run (default: all)
  --crops=N        crops per step instead of each case's own (resnet18-cifar, resnet-small: any;
                   emp-ssl: a multiple of 20, i.e. N/20 images x 20 patches; simclr-small: even,
                   N/2 images x 2 views), e.g. 256 on a GPU
  --steps=N        timed steps per case (default 3); the median is reported
  --warmup=N       untimed steps first (default 1)
  --micro-batches=N  gradient-accumulation chunks per step (default: per case on wasm, whose heap
                   is 4 GB: emp-ssl runs 4 x 50 crops; 1 elsewhere). Same FLOPs per step.
  --profile        also print per-kernel times of one step (tf.profile)
  --native=MODE    wasm only: both (default: plain wasm kernels and oneDNN kernels side by side, when
                   the addon is built), on (oneDNN only), off (plain wasm only)
  --no-torch       skip the PyTorch comparison
  --json           one JSON object per case on stdout`;

interface CaseReport extends StepTiming {
  backend: string;
  /** Which kernels ran the convolutions and matmuls. */
  kernels_path: 'wasm' | 'wasm+onednn' | string;
  threads: number;
  pytorch?: TorchResult | { unavailable: string };
  ratio_to_pytorch?: number;
}

function log(json: boolean, line: string): void {
  // Progress goes to stderr so that --json output stays machine-readable.
  (json ? process.stderr : process.stdout).write(`${line}\n`);
}

runMain(async () => {
  const { values } = parseFlags(
    process.argv.slice(2),
    {
      backend: { type: 'string' },
      threads: { type: 'string' },
      cases: { type: 'string' },
      steps: { type: 'string' },
      crops: { type: 'string' },
      warmup: { type: 'string' },
      'micro-batches': { type: 'string' },
      profile: { type: 'boolean' },
      'no-torch': { type: 'boolean' },
      native: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const json = values.json ?? false;
  const backendChoice = parseBackendFlag(values.backend);
  const threads = parseIntFlag('threads', values.threads, Math.min(os.availableParallelism(), MAX_WASM_THREADS), 1, MAX_WASM_THREADS);
  const steps = parseIntFlag('steps', values.steps, 3);
  const warmup = parseIntFlag('warmup', values.warmup, 1, 0);
  const names = values.cases ? values.cases.split(',') : ENGINE_CASES.map((c) => c.name);
  const cases = names.map((n) => {
    const c = ENGINE_CASES.find((e) => e.name === n);
    if (!c) throw new UsageError(`unknown case "${n}"; valid: ${ENGINE_CASES.map((e) => e.name).join(', ')}`);
    if (values.crops === undefined) return c;
    try {
      return withCrops(c, parseIntFlag('crops', values.crops, c.crops));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  });

  const nativeMode = values.native ?? 'both';
  if (!['both', 'on', 'off'].includes(nativeMode)) throw new UsageError(`--native must be both, on or off; got "${nativeMode}"`);
  const backend = await initBackend({ backend: backendChoice, threads, native: nativeMode !== 'off' });
  if (nativeMode === 'on' && !backend.native?.loaded) {
    throw new UsageError(
      `--native=on but the oneDNN kernels are not available: ${backend.native ? (backend.native as { reason: string }).reason : 'not the wasm backend'}`,
    );
  }
  // Kernel paths to measure, each as [label, use oneDNN kernels].
  const paths: [string, boolean][] =
    backend.name !== 'wasm'
      ? [[backend.name, false]]
      : backend.native?.loaded
        ? nativeMode === 'both'
          ? [
              ['wasm', false],
              ['wasm+onednn', true],
            ]
          : [['wasm+onednn', true]]
        : [['wasm', false]];
  log(json, describeBackend(backend));
  const torchReason = values['no-torch'] ? 'skipped (--no-torch)' : torchUnavailableReason();
  if (torchReason) log(json, `pytorch: ${torchReason}`);

  for (const c of cases) {
    let torch: TorchResult | null = null;
    for (const [path, native] of paths) {
      if (backend.name === 'wasm') useNativeKernels(native);
      // The same micro-batching on every kernel path, so their figures compare like for like.
      const microBatches = parseIntFlag('micro-batches', values['micro-batches'], backend.name === 'wasm' ? c.wasmMicroBatches : 1);
      log(
        json,
        `${c.name} [${path}]: ${c.description} (${warmup} warm-up + ${steps} timed steps, ${microBatches} micro-batch${microBatches > 1 ? 'es' : ''})`,
      );
      const timing = await runEngineCase(c, {
        warmup,
        steps,
        microBatches,
        profile: values.profile ?? false,
        onStep: (i, s) => log(json, `  step ${i + 1}/${steps}: ${s.toFixed(2)} s`),
      });
      const report: CaseReport = { ...timing, backend: backend.label, kernels_path: path, threads: backend.threads };
      if (!torchReason) {
        torch ??= runTorchStep(c.torchArgs(c.crops), threads, steps);
        report.pytorch = torch;
        report.ratio_to_pytorch = timing.crops_per_second / torch.crops_per_second;
      } else {
        report.pytorch = { unavailable: torchReason };
      }
      if (json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
      } else {
        const torchText =
          report.ratio_to_pytorch !== undefined
            ? `  pytorch ${(report.pytorch as TorchResult).crops_per_second.toFixed(2)} crops/s  ratio ours/pytorch ${report.ratio_to_pytorch.toFixed(3)}`
            : '';
        log(json, `  => ${timing.crops_per_second.toFixed(2)} crops/s, ${timing.gflops_per_second.toFixed(1)} GFLOP/s${torchText}`);
        if (timing.kernels) {
          const total = timing.kernels.reduce((s, k) => s + k.ms, 0);
          for (const k of timing.kernels.slice(0, 12)) {
            log(
              json,
              `     ${k.kernel.padEnd(24)} ${String(k.calls).padStart(5)} calls ${k.ms.toFixed(0).padStart(7)} ms ${((100 * k.ms) / total).toFixed(1).padStart(5)} %`,
            );
          }
        }
      }
    }
  }
});
