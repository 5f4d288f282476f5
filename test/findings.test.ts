import { describe, expect, it } from 'vitest';
import { findings, findingsMarkdown, headlineFindings } from '../reports/findings.js';
import type { Manifest } from '../src/results/manifest.js';
import type { ResultRow } from '../src/results/rows.js';
import { resultRow } from './helpers.js';

/** One trial's rows: accuracies at evaluation points of 1,000 crops each (the last is final). */
function trial(label: string, seed: number, accs: number[], over: Partial<ResultRow> = {}): ResultRow[] {
  return accs.map((a, i) =>
    resultRow({
      trial_id: `${label}-${seed}`,
      label,
      method: label,
      seed,
      point: i,
      final: i === accs.length - 1,
      budget_kind: 'patches',
      budget_amount: 1000 * accs.length,
      crops: 1000 * (i + 1),
      train_seconds: 10 * (i + 1),
      train_flops: 1e12 * (i + 1),
      metrics: { linear: a, knn20: a },
      ...over,
    }),
  );
}

function manifest(reference: string | null): Manifest {
  return {
    version: 1,
    run_id: 'r',
    started: '',
    last_started: '',
    argv: [],
    suite: { name: 't', reference, evaluation: { targets: {}, targetGaps: [0.5] } },
    trials: [],
    provenance: { machine: { cpu: 'Test CPU', cores: 2 } as Manifest['provenance']['machine'], backend: 'wasm' },
    rules: { training_flops: '', memory: {}, time: '' },
    departures: {},
  };
}

// Floor 40 %, ceiling 90 %; "ref" (the reference) ~70 %, "fast" ~80 % (clearly above ref on every seed), "noisy" around ref.
const rows = [0, 1, 2].flatMap((s) => [
  ...trial('floor', s, [0.4 + 0.01 * s], { role: 'floor', crops: 0, train_seconds: 0, train_flops: 0 }),
  ...trial('ceiling', s, [0.85, 0.9], { role: 'ceiling' }),
  ...trial('ref', s, [0.55 + 0.01 * s, 0.7 + 0.01 * s]),
  ...trial('fast', s, [0.7 + 0.01 * s, 0.8 + 0.01 * s]),
  ...trial('noisy', s, [0.5, [0.6, 0.8, 0.72][s]]),
]);

describe('findings', () => {
  const fs = findings(rows, [manifest('ref')]);
  const find = (question: string, a: string, axis?: string) =>
    fs.filter((f) => f.question === question && f.a === a && (axis === undefined || f.axis === axis));

  it('pairs each method with the floor of the same seed and calls a gain whose interval excludes 0 better', () => {
    const [g] = find('gain over the floor', 'fast');
    expect(g.b).toBe('floor');
    expect(g.seeds).toBe(3);
    // Per seed: 0.8+0.01s - (0.4+0.01s) = 0.4 exactly: no spread, the interval is the point.
    expect(g.difference).toBeCloseTo(0.4, 12);
    expect(g.verdict).toBe('better');
    expect(g.sentence).toContain('+40.0');
  });

  it('compares every other method with the suite\'s reference, "no clear difference" when the interval covers 0', () => {
    expect(find('accuracy at the budget', 'fast')[0].verdict).toBe('better');
    const [n] = find('accuracy at the budget', 'noisy');
    expect(n.b).toBe('ref');
    expect(n.low! < 0 && n.high! > 0).toBe(true);
    expect(n.verdict).toBe('no clear difference');
    expect(find('gap to the ceiling', 'ref')[0].verdict).toBe('worse');
  });

  it('reads the other cost axes off the curves, labelled so', () => {
    const seconds = find('accuracy at equal cost', 'fast', 'train_seconds');
    expect(seconds).toHaveLength(1);
    expect(seconds[0].reading).toBe('read off the curves');
    expect(seconds[0].sentence).toContain('mid-schedule');
    expect(seconds[0].sentence).toContain('seconds on Test CPU (2 cores), wasm'); // seconds depend on the machine
    // The budget's own axis (crops) is not read again off the curves.
    expect(find('accuracy at equal cost', 'fast', 'crops')).toHaveLength(0);
  });

  it('time to target: the median over seeds, a miss counted as never', () => {
    // Target at half the floor-ceiling gap: 0.4067 + 0.5 * (0.9 - 0.4067) = 0.653; ref reaches it on every seed
    // between its points, fast at the first, noisy on two of three seeds.
    const [t] = find('time to target', 'noisy', 'crops');
    expect(t.b).toBe('ref');
    expect(t.sentence).toContain('2 of 3 reached');
    expect(find('time to target', 'fast', 'crops')[0].verdict).toBe('better');
  });

  it('states every verdict in the Markdown (time to target as a table), and the rule once', () => {
    const md = findingsMarkdown(fs);
    for (const f of fs.filter((x) => x.question !== 'time to target')) expect(md).toContain(f.sentence);
    // One table row per method x target, each axis a cell with the median, seeds reached and the verdict.
    expect(md).toMatch(/\| noisy \| synthetic \| 65\.\d % \| [^|]+ \| [^|]+ \| [^|]*\(2\/3\), no clear difference \|/);
    expect(md).toMatch(/\| fast \| synthetic \| 65\.\d % \| [^|]+, better \|/);
    expect(md.match(/Rule:/g)).toHaveLength(1);
    expect(
      headlineFindings(fs).every((f) =>
        ['gain over the floor', 'accuracy at the budget', 'multi-crop baseline', 'across datasets'].includes(f.question),
      ),
    ).toBe(true);
  });

  it('one seed is an anecdote: "too few seeds", never better or worse', () => {
    const one = findings(
      rows.filter((r) => r.seed === 0),
      [manifest('ref')],
    );
    expect(one.filter((f) => f.verdict === 'better' || f.verdict === 'worse')).toEqual([]);
    expect(one.find((f) => f.question === 'gain over the floor')!.verdict).toBe('too few seeds');
  });

  it('a time budget names the machine and the crops each method fitted', () => {
    const timed = rows.map((r) => ({ ...r, budget_kind: 'time', budget_amount: 20 }));
    const [f] = findings(timed, [manifest('ref')]).filter((x) => x.question === 'accuracy at the budget' && x.a === 'fast');
    expect(f.sentence).toContain('Test CPU (2 cores), wasm');
    expect(f.sentence).toContain('crops fitted: fast 2,000, ref 2,000');
  });

  it('across several datasets: the IQM of the paired gains with a stratified-bootstrap interval', () => {
    const two = [...rows, ...rows.map((r) => ({ ...r, dataset: 'fashion-mnist', trial_id: `${r.trial_id}-f` }))];
    const across = findings(two, [manifest('ref')]).filter((f) => f.question === 'across datasets');
    const fast = across.find((f) => f.a === 'fast')!;
    expect(fast.difference).toBeCloseTo(0.4, 12);
    expect(fast.verdict).toBe('better');
  });
});
