/**
 * Nightly history on disk and its report. History: HISTORY/<machine fingerprint>/<time>-<commit>.json,
 * one file per night, so nights of different machines (or backends) never share a baseline. The report:
 * a Markdown summary fit for a CI job summary, and an HTML page of trend charts (one per measurement,
 * flagged nights marked), rendered to inline SVG so the page needs no script.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../src/results/store.js';
import { median } from '../src/stats.js';
import { FONT } from './figures.js';
import { escapeHtml } from './html.js';
import type { AbJudgement, AbRule } from './ab_compare.js';
import { judge, type DetectorOptions, type Judgement, type Measurement, type Night } from './regression.js';
import { renderSvg } from './render.js';

export interface NightFile {
  schema: 1;
  fingerprint: string;
  date: string;
  commit: string | null;
  dirty: boolean | null;
  backend: string;
  machine: unknown;
  measurements: Record<string, Measurement>;
  selfcheck: { passed: number; failed: string[] };
  run_dir: string | null;
  /** Tonight's same-night A/B of the micro-benchmarks (absent when it was skipped). */
  ab?: AbRecord;
}

export interface AbRecord {
  /** A: the baseline commit; B: tonight's checkout (its commit, dirty or not). */
  baseline_commit: string;
  commit: string | null;
  dirty: boolean | null;
  /** The slowdown injected on tonight's side, if any (nightly:calibrate). */
  injected: string | null;
  rounds: number;
  rule: AbRule;
  judgements: AbJudgement[];
  /** Benchmarks the baseline lacks (added since): measured tonight, not compared. */
  only_tonight: string[];
}

export function historyDir(root: string, fingerprint: string): string {
  return path.join(root, fingerprint);
}

/** A night's ISO time as a file-name stamp: 20261129T124152Z. */
export function nightStamp(isoDate: string): string {
  return isoDate.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export function saveNight(root: string, night: NightFile): string {
  const dir = historyDir(root, night.fingerprint);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${nightStamp(night.date)}-${(night.commit ?? 'nocommit').slice(0, 10)}.json`);
  writeFileAtomic(file, `${JSON.stringify(night, null, 1)}\n`);
  return file;
}

/** The nights of one fingerprint, oldest first. */
export function loadNights(root: string, fingerprint: string): Night[] {
  const dir = historyDir(root, fingerprint);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      const n = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as NightFile;
      return { file: path.join(dir, f), date: n.date, commit: n.commit, dirty: n.dirty, measurements: n.measurements, ab: n.ab };
    })
    .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}

const fmtValue = (v: number | null, unit: string) =>
  v === null
    ? '-'
    : unit === 'accuracy'
      ? `${(100 * v).toFixed(1)}%`
      : unit === 'gain'
        ? `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)} points`
        : `${v.toFixed(2)} ${unit}`;
/** A relative change as a signed percentage: +12.3%. */
export const fmtChange = (c: number | null) => (c === null ? '-' : `${c >= 0 ? '+' : ''}${(100 * c).toFixed(1)}%`);

/** Markdown emphasis and code marks removed (for HTML, and for a status quoted in parentheses). */
const plain = (s: string) => s.replace(/[*`]/g, '');

/** A judgement's status, by either rule (history or A/B). */
function verdict(j: { confirmed: boolean; direction: string }): string {
  if (j.confirmed) return '**REGRESSION (confirmed)**';
  if (j.direction === 'regression') return 'regression? (flagged; confirm tomorrow)';
  if (j.direction === 'improvement') return 'improvement';
  return 'ok';
}

function status(j: Judgement): string {
  return j.baselineNights === 0 ? 'no baseline yet' : verdict(j);
}

export function nightlyMarkdown(
  judgements: Judgement[],
  selfcheck: NightFile['selfcheck'],
  failedTrials: string[],
  context: {
    fingerprint: string;
    nights: number;
    commit: string | null;
    o: DetectorOptions;
    /** Tonight's A/B, which decides for the lines it measured (history decides for the rest). */
    ab?: { record: AbRecord; reproduce: string };
  },
): string {
  const byAb = new Set(context.ab?.record.judgements.map((j) => j.name) ?? []);
  const decisive = [...(context.ab?.record.judgements ?? []), ...judgements.filter((j) => !byAb.has(j.name))];
  const confirmed = decisive.filter((j) => j.confirmed);
  const flagged = decisive.filter((j) => j.direction === 'regression' && !j.confirmed);
  const headline =
    selfcheck.failed.length > 0
      ? `Self-check FAILED: ${selfcheck.failed.join(', ')}`
      : failedTrials.length > 0
        ? `${failedTrials.length} accuracy trial(s) FAILED`
        : confirmed.length > 0
          ? `${confirmed.length} confirmed regression(s): ${confirmed.map((j) => j.name).join(', ')}`
          : flagged.length > 0
            ? `No confirmed regression; ${flagged.length} flagged tonight, to confirm tomorrow`
            : 'No regression';
  const rows = judgements.map(
    (j) =>
      `| ${j.name} | ${fmtValue(j.value, j.unit)} | ${fmtValue(j.baselineMedian, j.unit)} | ${fmtChange(j.change)} | ${j.p === null ? '-' : j.p.toExponential(1)} | ${byAb.has(j.name) ? `(${plain(status(j))}; the A/B decides)` : status(j)} |`,
  );
  return [
    `## Nightly ssl-budget-bench: ${headline}`,
    '',
    `Commit ${context.commit?.slice(0, 10) ?? 'unknown'}, machine ${context.fingerprint}, ${context.nights} night(s) of history. Reference self-check: ${selfcheck.passed} passed, ${selfcheck.failed.length} failed.`,
    '',
    ...(context.ab ? [abMarkdown(context.ab.record, context.ab.reproduce)] : []),
    `### Against history${context.ab ? ' (the trend; decides for the accuracy lines)' : ''}`,
    '',
    `A change is flagged when it is at least ${(100 * context.o.threshold).toFixed(0)} % of the baseline median (last ${context.o.baseline} nights) and clear of the noise (one-sided Mann-Whitney U p < ${context.o.alpha}, or beyond ${context.o.madLimit} scaled MADs of the nightly medians); confirmed when the next night agrees.`,
    '',
    '| benchmark | tonight (median) | baseline (median) | change | p | status |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    ...(failedTrials.length > 0 ? ['', 'Failed accuracy trials:', ...failedTrials.map((f) => `- ${f}`)] : []),
    '',
  ].join('\n');
}

/**
 * The same-night A/B section: a table per benchmark and, for each regression, both commits, the change with
 * its interval and the command that reproduces the comparison.
 */
export function abMarkdown(ab: AbRecord, reproduce: string): string {
  const a = ab.baseline_commit.slice(0, 10);
  const b = `${ab.commit?.slice(0, 10) ?? 'unknown'}${ab.dirty ? ' (with uncommitted changes)' : ''}`;
  const regressions = ab.judgements.filter((j) => j.direction === 'regression');
  return [
    `### Same-night A/B: ${b} (B) against ${a} (A)`,
    '',
    `${ab.rounds} interleaved rounds, each side a fresh process per round. A benchmark is flagged when the 95 % interval of its change (a t interval over the rounds' log ratios) excludes zero and the change is at least its noise floor: ${(100 * ab.rule.threshold).toFixed(0)} %, or ${ab.rule.floorMads} scaled MADs of its changes on the last ${ab.rule.floorNights} nights if that is larger; confirmed when the night before flagged it too.`,
    '',
    '| benchmark | A (median) | B (median) | change | 95 % interval | noise floor | status |',
    '| --- | ---: | ---: | ---: | --- | ---: | --- |',
    ...ab.judgements.map(
      (j) =>
        `| ${j.name} | ${fmtValue(j.a, j.unit)} | ${fmtValue(j.b, j.unit)} | ${fmtChange(j.change)} | ${fmtChange(j.low)} to ${fmtChange(j.high)} | ${(100 * j.floor).toFixed(1)}% | ${verdict(j)} |`,
    ),
    ...(ab.only_tonight.length > 0 ? ['', `New since the baseline (measured, not compared): ${ab.only_tonight.join(', ')}.`] : []),
    ...(ab.injected ? ['', `Calibration night: ${ab.injected} injected on B on purpose.`] : []),
    ...(regressions.length > 0
      ? [
          '',
          ...regressions.map(
            (j) =>
              `- ${j.confirmed ? 'Confirmed regression' : 'Flagged'}: ${j.name}, ${b} against ${a}: ${fmtChange(j.change)} (95 % interval ${fmtChange(j.low)} to ${fmtChange(j.high)}; ${fmtValue(j.a, j.unit)} -> ${fmtValue(j.b, j.unit)}). Reproduce (in a checkout of B): \`${reproduce.replace('BENCHMARK', j.name)}\``,
          ),
        ]
      : []),
    '',
  ].join('\n');
}

/** A trend chart of one measurement: nightly medians, the flagged nights marked. */
export function trendSpec(name: string, nights: Night[], o: DetectorOptions): Record<string, unknown> {
  const values = nights
    .map((n, i) => {
      const m = n.measurements[name];
      if (!m) return null;
      const before = nights
        .slice(0, i)
        .map((x) => x.measurements[name])
        .filter((x): x is Measurement => !!x)
        .slice(-o.baseline);
      const j = judge(name, m, before, o);
      return {
        night: i + 1,
        date: n.date.slice(0, 16),
        commit: (n.commit ?? '').slice(0, 10),
        median: median(m.samples),
        status: j.direction === 'regression' ? 'flagged regression' : j.direction === 'improvement' ? 'improvement' : 'normal',
      };
    })
    .filter((v) => v !== null);
  const unit = nights[nights.length - 1].measurements[name]?.unit ?? '';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: name,
    config: { font: FONT },
    width: 420,
    height: 140,
    data: { values },
    layer: [
      {
        mark: { type: 'line', color: '#888' },
        encoding: {
          x: { field: 'night', type: 'quantitative', title: 'night', axis: { tickMinStep: 1 } },
          y: {
            field: 'median',
            type: 'quantitative',
            title: unit === 'accuracy' ? 'accuracy' : unit === 'gain' ? 'gain over the untrained floor' : `median (${unit})`,
            scale: { zero: false },
          },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 60 },
        encoding: {
          x: { field: 'night', type: 'quantitative' },
          y: { field: 'median', type: 'quantitative' },
          color: {
            field: 'status',
            type: 'nominal',
            scale: { domain: ['normal', 'flagged regression', 'improvement'], range: ['#4c78a8', '#e45756', '#54a24b'] },
          },
          tooltip: [{ field: 'date' }, { field: 'commit' }, { field: 'median', format: '.4g' }],
        },
      },
    ],
  };
}

/** The summary's Markdown (headings, paragraphs, bullet lines, tables) as HTML. */
function summaryHtml(lines: string[]): string {
  const out: string[] = [];
  const cells = (l: string) =>
    l
      .split('|')
      .slice(1, -1)
      .map((c) => escapeHtml(plain(c.trim())));
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.startsWith('|')) {
      const block: string[] = [];
      while (i < lines.length && lines[i].startsWith('|')) block.push(lines[i++]);
      i--;
      const [head, , ...rows] = block;
      out.push(
        `<table><tr>${cells(head)
          .map((c) => `<th>${c}</th>`)
          .join('')}</tr>${rows
          .map(
            (r) =>
              `<tr>${cells(r)
                .map((c) => `<td>${c}</td>`)
                .join('')}</tr>`,
          )
          .join('')}</table>`,
      );
    } else if (l.startsWith('### ')) out.push(`<h2>${escapeHtml(l.slice(4))}</h2>`);
    else if (l.startsWith('- ')) out.push(`<p>&bull; ${escapeHtml(plain(l.slice(2)))}</p>`);
    else if (l.trim()) out.push(`<p>${escapeHtml(l)}</p>`);
  }
  return out.join('\n');
}

export async function writeNightlyReport(
  outDir: string,
  nights: Night[],
  judgements: Judgement[],
  markdown: string,
  o: DetectorOptions,
): Promise<{ html: string; markdown: string }> {
  fs.mkdirSync(outDir, { recursive: true });
  const sections: string[] = [];
  for (const j of judgements) {
    const spec = trendSpec(j.name, nights, o);
    const stem = j.name.replace(/[^A-Za-z0-9._-]+/g, '_');
    writeFileAtomic(path.join(outDir, `${stem}.vl.json`), `${JSON.stringify(spec, null, 2)}\n`);
    sections.push(
      `<section><h3>${escapeHtml(j.name)}</h3><p>${escapeHtml(plain(status(j)))}; change ${escapeHtml(fmtChange(j.change))}</p>${await renderSvg(spec)}</section>`,
    );
  }
  const mdFile = path.join(outDir, 'summary.md');
  writeFileAtomic(mdFile, markdown);
  const html = path.join(outDir, 'nightly.html');
  const body = summaryHtml(markdown.split('\n').slice(1));
  const heading = markdown.split('\n')[0].replace(/^## /, '');
  writeFileAtomic(
    html,
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(heading)}</title>
<style>body{font-family:"DejaVu Sans",sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px}section{display:inline-block;margin:0 1em 1em 0;vertical-align:top}</style>
</head><body><h1>${escapeHtml(heading)}</h1>${body}<h2>Trends</h2>${sections.join('\n')}</body></html>
`,
  );
  return { html, markdown: mdFile };
}
