import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

function bench(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(TSX, ['bench/engine.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000, env });
}

describe('npm run bench:engine', () => {
  it('--help lists the cases and flags', () => {
    const r = bench(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/resnet18-cifar/);
    expect(r.stdout).toMatch(/--json/);
  });

  it('unknown flags and cases fail with exit 2 and say what is valid', () => {
    const flag = bench(['--bogus']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(/Unknown option '--bogus'/);
    expect(flag.stderr).toMatch(/valid flags: .*--backend/);
    const stray = bench(['resnet18']);
    expect(stray.status).toBe(2);
    expect(stray.stderr).toMatch(/unexpected argument "resnet18"/);
    const t = bench(['--threads=20']);
    expect(t.status).toBe(2);
    expect(t.stderr).toMatch(/--threads must be an integer from 1 to 8, got "20"/);
    const c = bench(['--cases=nope']);
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/unknown case "nope"; valid: resnet18-cifar, emp-ssl/);
    const crops = bench(['--cases=emp-ssl', '--crops=30']);
    expect(crops.status).toBe(2);
    expect(crops.stderr).toMatch(/emp-ssl: --crops=30 must be a positive multiple of 20/);
  });

  it('--backend=webgpu without a Vulkan driver fails with the reason and the fix, no stack trace', () => {
    const r = bench(['--backend=webgpu', '--no-torch'], {
      ...process.env,
      VK_DRIVER_FILES: '/nonexistent/icd.json',
      VK_ICD_FILENAMES: '/nonexistent/icd.json',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /error: no usable backend for --backend=webgpu:\n {2}webgpu: no WebGPU adapter \(.*mesa-vulkan-drivers from bookworm-backports\)/,
    );
    expect(r.stderr).not.toMatch(/at initBackend/);
  });

  it('--json prints one object per case and kernel path with the figures', () => {
    const r = bench(['--json', '--cases=resnet18-cifar', '--steps=1', '--warmup=0', '--no-torch']);
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // Both kernel paths side by side where the oneDNN addon is built (CI installs libdnnl-dev).
    const nativeBuilt = fs.existsSync(path.join(ROOT, 'native', 'build', 'Release', 'onednn.node'));
    expect(rows.map((row) => row.kernels_path)).toEqual(nativeBuilt ? ['wasm', 'wasm+onednn'] : ['wasm']);
    for (const row of rows) {
      expect(row.case).toBe('resnet18-cifar');
      expect(row.backend).toMatch(/wasm/);
      expect(row.crops_per_second).toBeGreaterThan(0);
      // 3 x 2 x 555,417,600 MACs x 32 crops, the FLOP rule on the reference count
      expect(row.training_flops_per_step).toBe(3 * 2 * 555417600 * 32);
      expect(row.gflops_per_second).toBeCloseTo(row.training_flops_per_step / row.seconds_per_step / 1e9, 6);
      expect(row.pytorch).toEqual({ unavailable: 'skipped (--no-torch)' });
    }
  }, 300_000);

  it('the emp-ssl case trains with the EMP-SSL loss, in micro-batches of whole image sets', () => {
    const r = bench([
      '--json',
      '--cases=emp-ssl',
      '--crops=40',
      '--micro-batches=2',
      '--steps=1',
      '--warmup=0',
      '--no-torch',
      '--native=off',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const row = JSON.parse(r.stdout.trim().split('\n')[0]);
    expect(row).toMatchObject({ case: 'emp-ssl', crops_per_step: 40, micro_batches: 2 });
    // 2 images x 20 patches: a micro-batch of 5 crops cannot hold whole sets of 2 images.
    const bad = bench(['--cases=emp-ssl', '--crops=40', '--micro-batches=8', '--steps=1', '--warmup=0', '--no-torch', '--native=off']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--micro-batches=8 must divide the 40 crops of a step into whole sets of 2 images/);
  }, 300_000);

  it('--native=off measures the plain wasm kernels only', () => {
    const r = bench(['--json', '--cases=resnet18-cifar', '--steps=1', '--warmup=0', '--no-torch', '--native=off']);
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((row) => row.kernels_path)).toEqual(['wasm']);
    expect(rows[0].backend).not.toMatch(/oneDNN/);
  }, 300_000);
});

describe('npm run bench:augment', () => {
  it('--json reports crops per second for the EMP-SSL recipe', () => {
    const r = spawnSync(TSX, ['bench/augment.ts', '--json', '--time=200', '--images=2', '--patches=4'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const row = JSON.parse(r.stdout.trim());
    expect(row.recipe).toBe('emp-ssl-4-patches');
    expect(row.crops_per_batch).toBe(8);
    expect(row.crops_per_second).toBeGreaterThan(0);
    const bad = spawnSync(TSX, ['bench/augment.ts', '--recipe=nope'], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/valid: emp-ssl, solo, swav/);
  }, 120_000);
});

describe('npm run bench:methods', () => {
  it('--json reports training crops per second per method', () => {
    const r = spawnSync(TSX, ['bench/methods.ts', '--json', '--methods=simclr', '--images=4', '--steps=1'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const row = JSON.parse(r.stdout.trim());
    expect(row).toMatchObject({ method: 'simclr', backbone: 'resnet-small-cifar', images_per_step: 4, crops_per_step: 8 });
    expect(row.crops_per_second).toBeGreaterThan(0);
    const bad = spawnSync(TSX, ['bench/methods.ts', '--methods=moco'], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown method "moco"/);
  }, 300_000);
});
