import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareFindings, pairedCount } from '../reports/agreement.js';
import type { Finding } from '../reports/findings.js';

const ROOT = path.resolve(import.meta.dirname, '..');

function finding(over: Partial<Finding>): Finding {
  return {
    question: 'gain over the floor',
    a: 'simclr',
    b: 'random-init',
    dataset: 'synthetic',
    budget: 'patches:20000',
    axis: 'budget',
    unit: 'accuracy points',
    difference: 0.3,
    low: 0.2,
    high: 0.4,
    seeds: 5,
    p_improvement: 1,
    verdict: 'better',
    reading: 'final',
    sentence: 's',
    ...over,
  };
}

describe('two runs agree', () => {
  it('pairs verdicts by what they compare, time to target by the rank of its target, and sorts them', () => {
    const ttt = (accuracy: number, verdict: Finding['verdict']) =>
      finding({
        question: 'time to target',
        b: 'emp-ssl',
        axis: 'crops',
        unit: 'cost ratio',
        verdict,
        target: { accuracy, a_median: 1, a_reached: 5, b_median: 2, b_reached: 5 },
      });
    const a = [
      finding({}),
      finding({ a: 'byol', verdict: 'better' }),
      finding({ a: 'swav', verdict: 'worse' }),
      finding({ a: 'vicreg' }),
      finding({ question: 'peak memory', verdict: 'measured' }),
      ttt(0.6, 'better'),
      ttt(0.8, 'no clear difference'),
    ];
    const b = [
      finding({}),
      finding({ a: 'byol', verdict: 'no clear difference' }),
      finding({ a: 'swav', verdict: 'better' }),
      finding({ a: 'moco' }),
      ttt(0.62, 'better'), // a slightly different target below another ceiling: the same comparison
      ttt(0.81, 'no clear difference'),
    ];
    const g = compareFindings(a, b);
    expect(pairedCount(g)).toBe(5);
    expect(g.same.map((p) => p.a.a)).toEqual(['simclr', 'simclr', 'simclr']);
    expect(g.oneClear.map((p) => p.a.a)).toEqual(['byol']);
    expect(g.contradictions.map((p) => [p.a.a, p.a.verdict, p.b.verdict])).toEqual([['swav', 'worse', 'better']]);
    expect([g.onlyA, g.onlyB]).toEqual([1, 1]);
  });

  it('`npm run report -- agree` prints the agreement and exits 1 on a contradiction', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-agree-'));
    const write = (name: string, findings: Finding[]) => {
      fs.writeFileSync(path.join(dir, name), JSON.stringify({ rule: 'r', findings }));
      return path.join(dir, name);
    };
    const same = write('a.json', [finding({})]);
    const flipped = write('b.json', [finding({ verdict: 'worse', sentence: 'simclr worse' })]);
    const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
    const ok = spawnSync(tsx, ['bench/report.ts', 'agree', same, same], { cwd: ROOT, encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^1 verdicts in both runs: 1 the same, 0 clear in one run only, 0 contradicting/);
    const bad = spawnSync(tsx, ['bench/report.ts', 'agree', same, flipped, '--json'], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout).contradictions).toEqual([
      expect.objectContaining({ a: 'better', b: 'worse', b_sentence: 'simclr worse' }),
    ]);
    const missing = spawnSync(tsx, ['bench/report.ts', 'agree', dir, same], { cwd: ROOT, encoding: 'utf8' });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/holds no findings\.json/);
  });
});
