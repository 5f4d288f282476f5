/**
 * Do two runs' findings agree? A benchmark's verdicts should survive a rerun on fresh seeds: this pairs the
 * verdicts of two findings.json files by what they compare (question, the two sides, dataset, budget, cost
 * axis; time to target by the rank of its target, since targets set below the ceiling move with the data) and
 * sorts each pair into agreeing, one clear while the other is not, and contradicting (one run's "better" is
 * the other's "worse"). Verdicts that are measurements (no comparison) are left out.
 */
import type { Finding } from './findings.js';

export interface VerdictPair {
  key: string;
  a: Finding;
  b: Finding;
}

export interface Agreement {
  same: VerdictPair[];
  /** Clear in one run, "no clear difference" in the other. */
  oneClear: VerdictPair[];
  contradictions: VerdictPair[];
  /** Verdicts only one run states (a method or target the other lacks). */
  onlyA: number;
  onlyB: number;
}

const COMPARED = new Set(['better', 'worse', 'no clear difference']);

/** Each comparison's key; time to target's targets by their rank within the same comparison. */
function keyed(findings: Finding[]): Map<string, Finding> {
  const base = (f: Finding) => [f.question, f.a, f.b, f.dataset, f.budget, f.axis, f.unit, f.reading].join(' | ');
  const compared = findings.filter((f) => COMPARED.has(f.verdict));
  const out = new Map<string, Finding>();
  const groups = new Map<string, Finding[]>();
  for (const f of compared) groups.set(base(f), [...(groups.get(base(f)) ?? []), f]);
  for (const [k, group] of groups) {
    const ranked = [...group].sort((x, y) => (x.target?.accuracy ?? 0) - (y.target?.accuracy ?? 0));
    for (const [i, f] of ranked.entries()) out.set(f.target ? `${k} | target ${i + 1} of ${ranked.length}` : k, f);
  }
  return out;
}

export function compareFindings(a: Finding[], b: Finding[]): Agreement {
  const [ka, kb] = [keyed(a), keyed(b)];
  const result: Agreement = { same: [], oneClear: [], contradictions: [], onlyA: 0, onlyB: 0 };
  for (const [key, fa] of ka) {
    const fb = kb.get(key);
    if (!fb) {
      result.onlyA++;
      continue;
    }
    const pair = { key, a: fa, b: fb };
    if (fa.verdict === fb.verdict) result.same.push(pair);
    else if (fa.verdict === 'no clear difference' || fb.verdict === 'no clear difference') result.oneClear.push(pair);
    else result.contradictions.push(pair);
  }
  result.onlyB = [...kb.keys()].filter((k) => !ka.has(k)).length;
  return result;
}

/** Verdicts both runs state. */
export const pairedCount = (g: Agreement) => g.same.length + g.oneClear.length + g.contradictions.length;

/** The agreement in a few lines, each disagreement with both runs' sentences. */
export function describeAgreement(g: Agreement, names: [string, string]): string {
  const lines = [
    `${pairedCount(g)} verdicts in both runs: ${g.same.length} the same, ${g.oneClear.length} clear in one run only, ${g.contradictions.length} contradicting` +
      ` (${g.onlyA} only in ${names[0]}, ${g.onlyB} only in ${names[1]})`,
  ];
  const show = (title: string, pairs: VerdictPair[]) => {
    if (pairs.length === 0) return;
    lines.push(`${title}:`);
    for (const p of pairs) lines.push(`  ${names[0]}: ${p.a.sentence}\n  ${names[1]}: ${p.b.sentence}`);
  };
  show('contradictions', g.contradictions);
  show('clear in one run only', g.oneClear);
  return lines.join('\n');
}
