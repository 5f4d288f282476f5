/**
 * Where and how a run happened, for its manifest: the machine (systeminformation), Node, the tfjs
 * backend actually used, package versions, the git commit, and scheduler ids when run under Slurm.
 * The fingerprint names a machine + backend so regressions compare like with like.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import si from 'systeminformation';
import type { BackendInfo } from '../../engine/backends/select.js';
import type { GpuAdapterInfo } from '../../engine/backends/webgpu.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const PACKAGES = [
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-webgpu',
  'webgpu',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  'ssl-budget-bench-native',
  'sharp',
  'systeminformation',
];

export interface Machine {
  cpu: string;
  cores: number;
  physical_cores: number;
  memory_bytes: number;
  gpus: { vendor: string; model: string; vram_mib: number | null }[];
  os: string;
  kernel: string;
  arch: string;
  hostname: string;
}

export interface Provenance {
  machine: Machine;
  fingerprint: string;
  node: string;
  /** The backend's description (package, build, threads, or the GPU adapter). */
  backend: string;
  /** The tfjs backend actually used: tensorflow, webgpu, wasm or cpu. */
  backend_name: string;
  /** webgpu only: the adapter (vendor, architecture, device, driver description, software fallback or not). */
  gpu_adapter: GpuAdapterInfo | null;
  packages: Record<string, string>;
  /** diff: a hash of the uncommitted changes to tracked files (null when clean; absent in older runs). */
  git: { commit: string | null; dirty: boolean | null; diff?: string | null };
  slurm: Record<string, string> | null;
}

function packageVersion(name: string): string | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export async function describeMachine(): Promise<Machine> {
  const [cpu, mem, osInfo, graphics] = await Promise.all([
    si.cpu(),
    si.mem(),
    si.osInfo(),
    si.graphics().catch(() => ({ controllers: [] })),
  ]);
  return {
    cpu: `${cpu.manufacturer} ${cpu.brand}`.trim(),
    cores: cpu.cores,
    physical_cores: cpu.physicalCores,
    memory_bytes: mem.total,
    gpus: graphics.controllers.map((g) => ({ vendor: g.vendor, model: g.model, vram_mib: g.vram ?? null })),
    os: `${osInfo.distro} ${osInfo.release}`.trim(),
    kernel: osInfo.kernel,
    arch: osInfo.arch,
    hostname: os.hostname(),
  };
}

/** Same machine and backend, same fingerprint (hostname excluded: identical cluster nodes compare). */
export function fingerprint(machine: Machine, backend: string): string {
  const key = JSON.stringify([machine.cpu, machine.cores, machine.memory_bytes, machine.gpus.map((g) => g.model), machine.arch, backend]);
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/** A short hash of `git diff HEAD` (tracked files' uncommitted changes), or null if git cannot tell. */
function diffHash(): string | null {
  const diff = git(['diff', 'HEAD', '--no-ext-diff', '--no-color']);
  return diff === null ? null : createHash('sha256').update(diff).digest('hex').slice(0, 8);
}

export async function collectProvenance(info: Pick<BackendInfo, 'name' | 'label' | 'adapter'>): Promise<Provenance> {
  const backend = info.label;
  const machine = await describeMachine();
  const packages: Record<string, string> = {};
  for (const p of PACKAGES) {
    const v = packageVersion(p);
    if (v) packages[p] = v;
  }
  const commit = git(['rev-parse', 'HEAD']);
  const status = commit === null ? null : git(['status', '--porcelain', '--untracked-files=no']);
  const slurmEntries = Object.entries(process.env).filter(([k]) =>
    /^SLURM(D)?_(JOB_ID|ARRAY_JOB_ID|ARRAY_TASK_ID|ARRAY_TASK_MIN|ARRAY_TASK_COUNT|NODENAME|JOB_NODELIST|CPUS_PER_TASK|JOB_GPUS)$/.test(k),
  );
  return {
    machine,
    fingerprint: fingerprint(machine, backend),
    node: process.version,
    backend,
    backend_name: info.name,
    gpu_adapter: info.adapter,
    packages,
    git: { commit, dirty: status === null ? null : status.length > 0, diff: status ? diffHash() : null },
    slurm: slurmEntries.length > 0 ? (Object.fromEntries(slurmEntries) as Record<string, string>) : null,
  };
}
