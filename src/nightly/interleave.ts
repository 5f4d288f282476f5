/**
 * Runs two source trees' micro-benchmarks side by side: each round starts a fresh process per side
 * (bench/nightly_micro_child.ts) and, benchmark by benchmark, alternates the two, A B B A A B ..., in short
 * slices, so both sides see the same machine state within a round; the rounds' fresh processes sample the
 * per-process effects (thread placement, JIT tiering) that no within-process repetition sees.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

/** The prefix of the child's reply lines (anything else on its stdout is a library's printing). */
export const REPLY_PREFIX = '@nightly ';

/** One benchmark's samples (ms) per side and round: a[r] holds round r's samples of side A. */
export interface RoundSamples {
  name: string;
  a: number[][];
  b: number[][];
}

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
  /** Alternations per benchmark and round (each side measured this many times, in slices). */
  slices: number;
  methods: string[];
  /** Only these benchmarks (all when absent). */
  only?: string[];
  /** Measuring time per benchmark, side and round, split over the slices. */
  benchTimeMs: number;
  backend: string;
  log: (line: string) => void;
}

export interface InterleaveResult {
  samples: RoundSamples[];
  /** Benchmarks only tonight's side has (added since the baseline): measured, not compared. */
  onlyB: { name: string; samples: number[] }[];
}

/** A child process answering one request at a time. */
class SideProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly replies: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private closed = false;
  private error = '';

  constructor(
    o: InterleaveOptions,
    readonly side: Side,
  ) {
    this.child = spawn(
      path.join(o.root, 'node_modules', '.bin', 'tsx'),
      [
        path.join(o.root, 'bench', 'nightly_micro_child.ts'),
        `--tree=${side.tree}`,
        `--methods=${o.methods.join(',')}`,
        `--backend=${o.backend}`,
      ],
      { cwd: side.tree, env: { ...process.env, ...side.env } },
    );
    const stderr: string[] = [];
    this.child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()));
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      if (line.startsWith(REPLY_PREFIX)) this.deliver(line.slice(REPLY_PREFIX.length));
    });
    this.child.on('close', (code) => {
      this.closed = true;
      this.error = `the micro-benchmarks of ${side.label} exited (${code}):\n${stderr.join('').trim().split('\n').slice(-8).join('\n')}`;
      this.deliver(null);
    });
  }

  private deliver(line: string | null): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(line);
    } else if (line !== null) this.replies.push(line);
  }

  async request<T>(body: object): Promise<T> {
    if (this.closed) throw new Error(this.error);
    this.child.stdin.write(`${JSON.stringify(body)}\n`);
    const line = this.replies.shift() ?? (await new Promise<string | null>((resolve) => (this.waiting = resolve)));
    if (line === null) throw new Error(this.error);
    return JSON.parse(line) as T;
  }

  close(): void {
    this.child.stdin.end();
    if (!this.closed) this.child.kill();
  }
}

export async function runInterleaved(o: InterleaveOptions): Promise<InterleaveResult> {
  const a: Map<string, number[]>[] = [];
  const b: Map<string, number[]>[] = [];
  let names: string[] = [];
  let onlyB: string[] = [];
  const onlyBSamples = new Map<string, number[]>();
  const slice = Math.max(10, Math.round(o.benchTimeMs / o.slices));
  for (let r = 0; r < o.rounds; r++) {
    o.log(`  round ${r + 1}/${o.rounds}: starting both sides`);
    const procs = { a: new SideProcess(o, o.a), b: new SideProcess(o, o.b) };
    try {
      // Both load at once (nothing is measured yet), then each benchmark alternates between them.
      const [na, nb] = await Promise.all([
        procs.a.request<{ names: string[] }>({ list: true }),
        procs.b.request<{ names: string[] }>({ list: true }),
      ]);
      const unknown = o.only?.filter((n) => !nb.names.includes(n)) ?? [];
      if (unknown.length > 0) throw new Error(`--only names no benchmark: ${unknown.join(', ')}; there are ${nb.names.join(', ')}`);
      const wanted = nb.names.filter((n) => !o.only || o.only.includes(n));
      names = wanted.filter((n) => na.names.includes(n));
      onlyB = wanted.filter((n) => !na.names.includes(n));
      const round = { a: new Map<string, number[]>(), b: new Map<string, number[]>() };
      for (const name of names) {
        for (let k = 0; k < o.slices; k++) {
          const order = (k + r) % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
          for (const which of order) {
            const { samples } = await procs[which].request<{ samples: number[] }>({ run: name, ms: slice });
            round[which].set(name, [...(round[which].get(name) ?? []), ...samples]);
          }
        }
      }
      for (const name of onlyB) {
        const { samples } = await procs.b.request<{ samples: number[] }>({ run: name, ms: o.benchTimeMs });
        onlyBSamples.set(name, [...(onlyBSamples.get(name) ?? []), ...samples]);
      }
      a.push(round.a);
      b.push(round.b);
    } finally {
      procs.a.close();
      procs.b.close();
    }
  }
  return {
    samples: names.map((name) => ({ name, a: a.map((m) => m.get(name)!), b: b.map((m) => m.get(name)!) })),
    onlyB: [...onlyBSamples].map(([name, samples]) => ({ name, samples })),
  };
}
