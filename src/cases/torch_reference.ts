/**
 * Runs ../shared/reference/torch_step.py (PyTorch's CPU build from Debian) for a side-by-side figure.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TORCH_STEP_SCRIPT = path.resolve(REPO_ROOT, '..', 'shared', 'reference', 'torch_step.py');
const PYTHON = '/usr/bin/python3';

export interface TorchResult {
  engine: string;
  crops_per_second: number;
  seconds_per_step: number;
}

/** Why PyTorch cannot be run here, or null when it can. */
export function torchUnavailableReason(): string | null {
  if (!fs.existsSync(TORCH_STEP_SCRIPT)) return `${TORCH_STEP_SCRIPT} not found`;
  if (!fs.existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'python3-torch is not installed (apt-get install -y python3-torch python3-torchvision)';
  return null;
}

export function runTorchStep(args: string[], threads: number, steps: number): TorchResult {
  const r = spawnSync(PYTHON, [TORCH_STEP_SCRIPT, ...args, '--threads', String(threads), '--steps', String(steps)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`torch_step.py failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as TorchResult;
}
