/**
 * The HTML report: one page that works offline. Figures are compiled to Vega in Node and drawn in the
 * browser by vega.min.js copied from node_modules beside the page (no CDN); every text that comes from a
 * suite or a run (method names, labels, paths) is escaped.
 */
import type { Figure, SummaryLine } from './figures.js';
import { type Finding, findingsByQuestion } from './findings.js';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** JSON safe inside a <script> element (no "</script>", no HTML comment openers). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const fmt = (v: number | null, digits = 1, scale = 1) => (v === null ? '-' : (v * scale).toFixed(digits));
/** "61.2 [57.0, 65.4]": a proportion in percent with its interval (the mean alone where there is none). */
export function withInterval(mean: number | null, low: number | null, high: number | null, signed = false): string {
  if (mean === null) return '-';
  const f = (v: number) => `${signed && v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}`;
  return low === null || high === null ? f(mean) : `${f(mean)} [${f(low)}, ${f(high)}]`;
}

export interface HtmlReport {
  title: string;
  figures: { figure: Figure; vega: unknown }[];
  summary: SummaryLine[];
  findings: Finding[];
  /** Trials that ended other than ok, one line each (failureLines). */
  failures: string[];
  rules: string[];
  /** "label: departure" lines: where each setting trains differently from its source. */
  departures: string[];
  provenance: string[];
  runs: string[];
  /** Set when the rows came from more than one code version or machine (src/results/origin.ts). */
  mixed: string | null;
}

export function reportHtml(r: HtmlReport): string {
  const rows = r.summary
    .map(
      (s) =>
        `<tr><td>${escapeHtml(s.method)}</td><td>${escapeHtml(s.dataset)}</td><td>${escapeHtml(s.budget)}</td><td>${s.seeds}</td><td>${withInterval(s.linear_mean, s.linear_low, s.linear_high)}</td><td>${withInterval(s.gain_mean, s.gain_low, s.gain_high, true)}</td><td>${fmt(s.knn20_mean, 1, 100)}</td><td>${fmt(s.train_seconds, 1)}</td><td>${s.train_flops === null ? '-' : s.train_flops.toExponential(2)}</td><td>${fmt(s.crops, 0)}</td><td>${fmt(s.epochs, 2)}</td><td>${fmt(s.step_peak_mib, 0)}</td><td>${s.failed}</td></tr>`,
    )
    .join('\n');
  const findings =
    r.findings.length === 0
      ? '<p>No finding: these runs have no method with a finished trial.</p>'
      : findingsByQuestion(r.findings)
          .map(
            (g) =>
              // Time to target has a finding per method x target x axis: folded, so the rest stays in view.
              `<h3>${escapeHtml(g.title)}</h3>\n${g.title === 'Time to target' ? `<details><summary>${g.findings.length} findings</summary>` : ''}<ul class="findings">${g.findings.map((f) => `<li class="verdict-${f.verdict.replace(/ /g, '-')}">${escapeHtml(f.sentence)}</li>`).join('\n')}</ul>${g.title === 'Time to target' ? '</details>' : ''}`,
          )
          .join('\n');
  const figures = r.figures
    .map(
      ({ figure }, i) => `<section>
<h2>${escapeHtml(figure.title)}</h2>
<p class="critique">${escapeHtml(figure.critique)}</p>
<div class="chart" id="chart-${i}" data-rendered="false"></div>
<p class="files"><a href="${escapeHtml(figure.name)}.svg">SVG</a> · <a href="${escapeHtml(figure.name)}.png">PNG</a> · <a href="${escapeHtml(figure.name)}.vl.json">Vega-Lite spec</a></p>
<script type="application/json" id="spec-${i}">${scriptJson(r.figures[i].vega)}</script>
</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(r.title)}</title>
<style>
body { font-family: "DejaVu Sans", sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
td:nth-child(-n+3), th:nth-child(-n+3) { text-align: left; }
.critique { color: #555; font-style: italic; }
.files { font-size: 12px; }
.verdict-better { color: #1a6b1a; } .verdict-worse { color: #a11; } .mixed { color: #a11; }
section { margin-bottom: 2.5em; }
</style>
<script src="vega.min.js"></script>
</head>
<body>
<h1>${escapeHtml(r.title)}</h1>
<p>Runs: ${r.runs.map((x) => `<code>${escapeHtml(x)}</code>`).join(', ')}</p>
${r.mixed ? `<p class="mixed"><strong>${escapeHtml(r.mixed)}</strong></p>\n` : ''}<h2>Findings</h2>
${findings}
<h2>Summary</h2>
<p>Linear % and the gain over the floor (paired by seed): mean [95 % t-interval over seeds].</p>
<table>
<tr><th>method</th><th>dataset</th><th>budget</th><th>seeds</th><th>linear %</th><th>gain (points)</th><th>kNN-20 %</th><th>train s</th><th>training FLOPs</th><th>crops</th><th>epochs</th><th>step peak MiB</th><th>failed</th></tr>
${rows}
</table>
${r.failures.length > 0 ? `<h2>Failed trials</h2>\n<ul class="failures">${r.failures.map((x) => `<li>${escapeHtml(x)}</li>`).join('\n')}</ul>` : ''}
${figures}
<h2>Accounting rules</h2>
<ul>${r.rules.map((x) => `<li>${escapeHtml(x)}</li>`).join('\n')}</ul>
<h3>Departures from the sources' settings</h3>
${r.departures.length > 0 ? `<ul class="departures">${r.departures.map((x) => `<li>${escapeHtml(x)}</li>`).join('\n')}</ul>` : '<p>None recorded (runs written before departures were recorded, or every setting as its source).</p>'}
<h2>Provenance</h2>
<ul>${r.provenance.map((x) => `<li>${escapeHtml(x)}</li>`).join('\n')}</ul>
<script>
(async () => {
  const charts = document.querySelectorAll('.chart');
  let done = 0;
  for (const el of charts) {
    const i = el.id.slice('chart-'.length);
    try {
      const spec = JSON.parse(document.getElementById('spec-' + i).textContent);
      await new vega.View(vega.parse(spec), { renderer: 'svg', container: el, hover: true }).runAsync();
      el.dataset.rendered = 'true';
    } catch (e) {
      el.dataset.rendered = 'failed';
      console.error('chart ' + i + ' failed: ' + e);
    }
    done++;
  }
  document.body.dataset.chartsDone = String(done);
})();
</script>
</body>
</html>
`;
}
