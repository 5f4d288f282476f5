/**
 * A report from run directories (their results*.jsonl and manifest.json only): every figure as
 * .vl.json beside its .svg and .png, a summary table (CSV and Markdown), and index.html.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { stringify } from 'csv-stringify/sync';
import type { ResultRow } from '../src/results/rows.js';
import { type Manifest, readManifest } from '../src/results/manifest.js';
import { readRows, writeFileAtomic } from '../src/results/store.js';
import { latestRows } from '../src/results/summary.js';
import { resolveTargets } from './analysis.js';
import { applyMethodColours, buildFigures, protocolFigures, summaryLines, type SummaryLine, verdictFigure } from './figures.js';
import { type Finding, findings, findingsMarkdown, RULE } from './findings.js';
import { summaryLatex } from './latex.js';
import { describeProtocol, protocolsOf, SINGLE, underProtocol } from './protocols.js';
import { reportHtml, withInterval } from './html.js';
import { svgToPng, toVega, vegaToSvg } from './render.js';
import { mixedRunNote } from '../src/results/origin.js';

export const FORMATS = ['svg', 'png', 'html'] as const;
export type Format = (typeof FORMATS)[number];

export class ReportError extends Error {}

export interface LoadedRuns {
  rows: ResultRow[];
  manifests: Manifest[];
  warnings: string[];
}

export function loadRuns(dirs: string[]): LoadedRuns {
  const warnings: string[] = [];
  const rows: ResultRow[] = [];
  const manifests: Manifest[] = [];
  for (const dir of dirs) {
    const manifest = readManifest(dir);
    if (!manifest) throw new ReportError(`${dir} is not a run directory (no manifest.json); give the directory that npm run bench printed`);
    manifests.push(manifest);
    rows.push(...readRows(dir, (w) => warnings.push(w)));
  }
  if (rows.length === 0) throw new ReportError(`no results in ${dirs.join(', ')} yet (results*.jsonl is empty or missing)`);
  return { rows, manifests, warnings };
}

function summaryMarkdown(lines: SummaryLine[]): string {
  const f = (v: number | null, d: number, s = 1) => (v === null ? '-' : (v * s).toFixed(d));
  const md = (x: string) => x.replace(/\|/g, '\\|');
  return [
    'Linear % and the gain over the floor (paired by seed): mean [95 % t-interval over seeds].',
    '',
    '| method | dataset | budget | seeds | linear % | gain (points) | kNN-20 % | train s | training FLOPs | crops | epochs | step peak MiB | failed |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...lines.map(
      (l) =>
        `| ${md(l.method)} | ${md(l.dataset)} | ${l.budget} | ${l.seeds} | ${withInterval(l.linear_mean, l.linear_low, l.linear_high)} | ${withInterval(l.gain_mean, l.gain_low, l.gain_high, true)} | ${f(l.knn20_mean, 1, 100)} | ${f(l.train_seconds, 1)} | ${l.train_flops === null ? '-' : l.train_flops.toExponential(2)} | ${f(l.crops, 0)} | ${f(l.epochs, 2)} | ${f(l.step_peak_mib, 0)} | ${l.failed} |`,
    ),
  ].join('\n');
}

/** Each trial that ended other than ok, in words: which, how, how far it got, and the message. */
export function failureLines(rows: ResultRow[]): string[] {
  return latestRows(rows)
    .filter((r) => r.final && r.status !== 'ok')
    .sort((a, b) => a.trial_id.localeCompare(b.trial_id))
    .map(
      (r) =>
        `${r.label} on ${r.dataset} (${r.backbone}), seed ${r.seed}: ${r.status} after ${r.steps} steps (${r.train_seconds.toFixed(1)} s)${r.error ? `: ${r.error}` : ''}`,
    );
}

function provenanceLines(manifests: Manifest[]): string[] {
  return manifests.map((m) => {
    const p = m.provenance;
    const mc: Partial<NonNullable<typeof p.machine>> = p.machine ?? {};
    const gpus = (mc.gpus ?? []).map((g) => g.model).join(', ') || 'no GPU';
    const commit = p.git?.commit ? `${p.git.commit.slice(0, 10)}${p.git.dirty ? ' (modified)' : ''}` : 'unknown commit';
    return `${m.run_id}: ${mc.cpu ?? '?'} (${mc.cores ?? '?'} cores, ${((mc.memory_bytes ?? 0) / 2 ** 30).toFixed(0)} GiB), ${gpus}, ${mc.os ?? ''}; ${p.backend ?? '?'}; Node ${p.node ?? '?'}; ${commit}; fingerprint ${p.fingerprint ?? '?'}`;
  });
}

export interface ReportResult {
  outDir: string;
  findings: Finding[];
  figures: { name: string; files: string[] }[];
  html: string | null;
  warnings: string[];
  /** Set when the rows came from more than one code version or machine. */
  mixed: string | null;
}

/** "label: departure" for every setting that has results, each line once across the runs. */
function departureLines(manifests: Manifest[], rows: ResultRow[]): string[] {
  const labels = new Set(rows.map((r) => r.label));
  const lines = manifests.flatMap((m) =>
    Object.entries(m.departures)
      .filter(([label]) => labels.has(label))
      .flatMap(([label, ds]) => ds.map((d) => `${label}: ${d}`)),
  );
  return [...new Set(lines)];
}

/**
 * `protocol`: draw every figure and the summary under one evaluation protocol (`single`, `bag16`, ...).
 * Without it the figures use the single view, and the bag protocols get their own time-to-target and
 * accuracy figures beside them.
 */
export async function makeReport(
  dirs: string[],
  outDir: string,
  formats: Format[] = [...FORMATS],
  protocol?: string,
): Promise<ReportResult> {
  const loaded = loadRuns(dirs);
  const { manifests, warnings } = loaded;
  const protocols = protocolsOf(loaded.rows);
  if (protocol !== undefined && !protocols.includes(protocol))
    throw new ReportError(`these runs have no results for protocol "${protocol}"; they have: ${protocols.join(', ')}`);
  const rows = underProtocol(loaded.rows, protocol ?? SINGLE);
  const absolute: Record<string, number[]> = {};
  let gaps: number[] = [];
  for (const m of manifests) {
    Object.assign(absolute, m.suite.evaluation.targets);
    gaps = [...new Set([...gaps, ...(m.suite.evaluation.targetGaps ?? [])])];
  }
  const targets = resolveTargets(rows, absolute, gaps);
  fs.mkdirSync(outDir, { recursive: true });
  // Findings read the single view, whatever protocol the figures are drawn under (each names its protocol).
  const found = findings(latestRows(loaded.rows), manifests);
  const figures = [verdictFigure(found), ...buildFigures(rows, targets)];
  writeFileAtomic(path.join(outDir, 'findings.json'), `${JSON.stringify({ rule: RULE, findings: found }, null, 2)}\n`);
  if (protocol === undefined)
    for (const p of protocols.filter((x) => x !== SINGLE)) {
      const under = underProtocol(loaded.rows, p);
      figures.push(...protocolFigures(under, resolveTargets(under, absolute, gaps), p, describeProtocol(loaded.rows, p)));
    }
  const written: ReportResult['figures'] = [];
  const compiled: { figure: (typeof figures)[number]; vega: unknown }[] = [];
  const methodOrder = manifests.find((m) => m.method_order)?.method_order ?? [];
  for (const figure of figures) {
    applyMethodColours(figure.spec, loaded.rows, methodOrder);
    const files: string[] = [];
    const stem = path.join(outDir, figure.name);
    writeFileAtomic(`${stem}.vl.json`, `${JSON.stringify(figure.spec, null, 2)}\n`);
    files.push(`${stem}.vl.json`);
    const vegaSpec = toVega(figure.spec);
    if (formats.includes('svg') || formats.includes('png')) {
      const svg = await vegaToSvg(vegaSpec);
      if (formats.includes('svg')) {
        writeFileAtomic(`${stem}.svg`, svg);
        files.push(`${stem}.svg`);
      }
      if (formats.includes('png')) {
        fs.writeFileSync(`${stem}.png.tmp`, svgToPng(svg));
        fs.renameSync(`${stem}.png.tmp`, `${stem}.png`);
        files.push(`${stem}.png`);
      }
    }
    compiled.push({ figure, vega: vegaSpec });
    written.push({ name: figure.name, files });
  }
  const lines = summaryLines(rows);
  writeFileAtomic(
    path.join(outDir, 'summary.csv'),
    stringify(lines as unknown as Record<string, unknown>[], { header: true, columns: Object.keys(lines[0] ?? { method: '' }) }),
  );
  const failures = failureLines(rows);
  const failureMd = failures.length > 0 ? `\n## Failed trials\n\n${failures.map((f) => `- ${f}`).join('\n')}\n` : '';
  const departures = departureLines(manifests, rows);
  const mixed = mixedRunNote(loaded.rows);
  const departureMd =
    departures.length > 0
      ? `\n## Departures from the sources' settings\n\n${departures.map((d) => `- ${d.replace(/\|/g, '\\|')}`).join('\n')}\n`
      : '';
  writeFileAtomic(
    path.join(outDir, 'summary.md'),
    `${mixed ? `> **${mixed}**\n\n` : ''}${findingsMarkdown(found)}\n## Summary\n\n${summaryMarkdown(lines)}\n${failureMd}${departureMd}`,
  );
  writeFileAtomic(path.join(outDir, 'summary.tex'), summaryLatex(lines));
  let html: string | null = null;
  if (formats.includes('html')) {
    const rules = [
      manifests[0].rules.training_flops,
      manifests[0].rules.time,
      ...Object.entries(manifests[0].rules.memory).map(([k, v]) => `${k}: ${v}`),
      'Accuracy: linear probe top-1 on the test split (its regulariser chosen on a validation split carved from the training split); kNN: weighted, cosine, T = 0.07.',
      `Protocols: ${protocols.map((p) => describeProtocol(loaded.rows, p)).join('; ')}. ${protocol === undefined ? 'Figures and summary use single unless titled with a bag protocol' : `Every figure and the summary use ${protocol}`}. Bags: the probe (the single view's regulariser) and kNN bank from one draw of training-image patches, scored on each repeat's fresh draw of test-image patches (mean and spread over repeats).`,
      'Time to target: first evaluation point reaching the target, interpolated linearly on the cost axis; median over seeds with a miss counted as never, and how many seeds reached it.',
      `Findings: ${RULE}`,
    ].filter(Boolean);
    const require = createRequire(import.meta.url);
    // vega's exports map hides build/vega.min.js; it sits beside the module build that "." resolves to.
    fs.copyFileSync(path.join(path.dirname(require.resolve('vega')), 'vega.min.js'), path.join(outDir, 'vega.min.js'));
    html = path.join(outDir, 'index.html');
    const name = [...new Set(manifests.map((m) => m.suite.name))].join(' + ');
    writeFileAtomic(
      html,
      reportHtml({
        title: `ssl-budget-bench report: ${name}`,
        figures: compiled,
        summary: lines,
        findings: found,
        failures,
        rules,
        departures,
        provenance: provenanceLines(manifests),
        runs: dirs,
        mixed,
      }),
    );
  }
  return { outDir, findings: found, figures: written, html, warnings, mixed };
}
