/**
 * Runs two source trees' micro-benchmarks interleaved: round r runs A then B (B then A on odd rounds, so
 * neither side always goes first), each in a fresh process (bench/nightly_micro_child.ts), and returns every
 * benchmark's samples per side and round.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { AbSamples } from '../../reports/ab_compare.js';

export interface Side {
  label: string;
  tree: string;
  /** Extra environment of this side's processes (the detector's calibration injects slowdowns with it). */
  env?: Record<string, string>;
}

export interface InterleaveOptions {
  /** The checkout whose node_modules and child script run both sides. */
  root: string;
  a: Side;
  b: Side;
  rounds: number;
  methods: string[];
  benchTimeMs: number;
  backend: string;
  log: (line: string) => void;
}

function runSide(o: InterleaveOptions, side: Side): Record<string, number[]> {
  const r = spawnSync(
    path.join(o.root, 'node_modules', '.bin', 'tsx'),
    [
      path.join(o.root, 'bench', 'nightly_micro_child.ts'),
      `--tree=${side.tree}`,
      `--methods=${o.methods.join(',')}`,
      `--bench-time=${o.benchTimeMs}`,
      `--backend=${o.backend}`,
    ],
    { cwd: side.tree, encoding: 'utf8', env: { ...process.env, ...side.env }, timeout: 600_000, maxBuffer: 64 << 20 },
  );
  if (r.status !== 0) {
    const tail = (r.stderr ?? '').trim().split('\n').slice(-8).join('\n');
    throw new Error(`the micro-benchmarks of ${side.label} failed (exit ${r.status ?? r.signal}):\n${tail}`);
  }
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return (JSON.parse(last) as { benchmarks: Record<string, number[]> }).benchmarks;
}

export function runInterleaved(o: InterleaveOptions): AbSamples[] {
  const a: Record<string, number[]>[] = [];
  const b: Record<string, number[]>[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const order = r % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    for (const which of order) {
      const side = which === 'a' ? o.a : o.b;
      o.log(`  round ${r + 1}/${o.rounds}: ${side.label}`);
      (which === 'a' ? a : b).push(runSide(o, side));
    }
  }
  // Benchmarks both sides have (a method or benchmark added since the baseline has nothing to compare with).
  const names = Object.keys(b[0]).filter((n) => n in a[0]);
  return names.map((name) => ({
    name,
    unit: 'ms',
    better: 'lower',
    a: a.map((round) => round[name]),
    b: b.map((round) => round[name]),
  }));
}
