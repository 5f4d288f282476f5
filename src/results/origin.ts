/**
 * Which code on which machine wrote a result row (MLPerf logs the code version with every result; asv keys
 * every result by commit and machine): the commit, whether the tree had uncommitted changes and a hash of
 * them, the machine + backend fingerprint and the host. A resume by other code or on another machine is
 * refused unless asked for (src/runner/run.ts); a run that mixes them says so in its summary and report.
 */
import type { Provenance } from '../measure/provenance.js';
import type { ResultRow } from './rows.js';

export interface RowOrigin {
  commit: string | null;
  /** Uncommitted changes to tracked files; null outside a git checkout. */
  dirty: boolean | null;
  /** A hash of those changes (git diff HEAD), so two dirty trees at one commit tell apart; null when clean. */
  diff: string | null;
  /** Machine + backend (src/measure/provenance.ts's fingerprint; the host name excluded). */
  fingerprint: string;
  host: string;
}

export function originOf(p: Pick<Provenance, 'git' | 'fingerprint' | 'machine'>): RowOrigin {
  return {
    commit: p.git.commit,
    dirty: p.git.dirty,
    diff: p.git.diff ?? null,
    fingerprint: p.fingerprint,
    host: p.machine.hostname,
  };
}

/** The code an origin names, in words: "commit 1a2b3c4d5e (uncommitted changes 9f8e7d6c)". */
function describeCode(o: Pick<RowOrigin, 'commit' | 'dirty' | 'diff'>): string {
  return `${o.commit === null ? 'no git commit' : `commit ${o.commit.slice(0, 10)}`}${o.dirty ? ` (uncommitted changes${o.diff ? ` ${o.diff}` : ''})` : ''}`;
}

function describeMachine(o: Pick<RowOrigin, 'fingerprint' | 'host'>): string {
  return `machine ${o.fingerprint} (${o.host})`;
}

/**
 * How this process differs from the one that wrote a run's manifest, in words ("by commit a (...); this is
 * commit b"), or null when it runs the same code on the same kind of machine. Manifests older than a field
 * compare on what they have.
 */
export function provenanceChange(previous: Partial<Provenance>, now: Provenance): string | null {
  const before = previous.git;
  const parts: string[] = [];
  if (before) {
    const was = { commit: before.commit, dirty: before.dirty, diff: before.diff ?? null };
    const is = { commit: now.git.commit, dirty: now.git.dirty, diff: now.git.diff ?? null };
    const differs = was.commit !== is.commit || was.dirty !== is.dirty || (before.diff !== undefined && was.diff !== is.diff);
    if (differs) parts.push(`by ${describeCode(was)}; this checkout is ${describeCode(is)}`);
  }
  if (previous.fingerprint !== undefined && previous.fingerprint !== now.fingerprint) {
    const host = previous.machine?.hostname ?? 'unknown host';
    parts.push(
      `on ${describeMachine({ fingerprint: previous.fingerprint, host })}; this is ${describeMachine({ fingerprint: now.fingerprint, host: now.machine.hostname })} (CPU, cores, memory, GPU or backend differ)`,
    );
  }
  return parts.length ? parts.join(', and ') : null;
}

const key = (o: RowOrigin) => JSON.stringify([o.commit, o.dirty, o.diff, o.fingerprint, o.host]);

/** The distinct origins of `rows` with their row counts, the most rows first; rows older than the field are left out. */
export function rowOrigins(rows: ResultRow[]): { origin: RowOrigin; rows: number }[] {
  const groups = new Map<string, { origin: RowOrigin; rows: number }>();
  for (const r of rows) {
    if (!r.origin) continue;
    const g = groups.get(key(r.origin)) ?? { origin: r.origin, rows: 0 };
    g.rows++;
    groups.set(key(r.origin), g);
  }
  return [...groups.values()].sort((a, b) => b.rows - a.rows);
}

/** A sentence for a summary when the rows came from more than one code version or machine, else null. */
export function mixedRunNote(rows: ResultRow[]): string | null {
  const origins = rowOrigins(rows);
  if (origins.length < 2) return null;
  const each = origins.map((g) => `${g.rows} rows by ${describeCode(g.origin)} on ${describeMachine(g.origin)}`);
  return `Mixed run: its rows came from ${origins.length} code versions or machines (${each.join('; ')}); compare its numbers with care.`;
}
