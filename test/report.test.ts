/**
 * Reports from a small real run: files, SVG text, PNG text (pixels), and the HTML page in headless
 * Chromium (Debian's package through playwright-core; skipped with a reason only where it is absent, and
 * required under CI).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml, reportHtml } from '../reports/html.js';
import { svgToPng } from '../reports/render.js';
import { metricKey, parseMetricKey } from '../src/results/metric_keys.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-report-'));
const RUN = path.join(TMP, 'run');
const REPORT = path.join(RUN, 'report');
const CHROMIUM = '/usr/bin/chromium';
const FIGURES = [
  // The verdicts first, then what they rest on.
  'verdicts',
  'final-accuracy',
  'accuracy-vs-cost',
  'time-to-target',
  'memory',
  'test-time-cost',
  'multi-crop-baselines',
  'evaluation-variance',
  'pareto',
  // The bag protocol (K = 2 patches, at every point) gets its own time to target and accuracy curves.
  'time-to-target-bag2',
  'accuracy-vs-cost-bag2',
  // EMP-SSL's own protocol (the suite's evaluation.authors) too.
  'time-to-target-authors',
  'accuracy-vs-cost-authors',
];

beforeAll(() => {
  const suite = path.join(TMP, 'suite.json');
  fs.writeFileSync(
    suite,
    JSON.stringify({
      name: 'tiny-report',
      methods: [
        { method: 'simclr', batchImages: 8 },
        { method: 'emp-ssl', batchImages: 2, views: 4 },
      ],
      datasets: ['synthetic'],
      backbone: 'resnet-small',
      budgets: ['steps:3'],
      seeds: 2,
      evaluation: {
        fractions: [0.5, 1],
        maxTrainImages: 60,
        maxTestImages: 30,
        linear: { iterations: 20, lr: 0.05 },
        bag: { patches: [2], repeats: 2, maxTrainImages: 20, maxTestImages: 10 },
        testCost: { patches: [1, 2], throughputCrops: 4 },
        authors: { 'emp-ssl': { layer: 'pre-feature', patches: 3 } },
        targets: { synthetic: [0.05, 0.99] },
      },
    }),
  );
  const r = spawnSync(TSX, ['bench/bench.ts', `--suite=${suite}`, `--out=${RUN}`, `--data-dir=${path.join(TMP, 'data')}`], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`the bench run failed:\n${r.stderr}`);
}, 600_000);

/** Pixels darker than mid-grey in a PNG, overall and in the bottom `band` fraction of rows. */
async function darkPixels(png: Buffer, band = 0.1): Promise<{ all: number; bottom: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let all = 0;
  let bottom = 0;
  const start = Math.floor(info.height * (1 - band));
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const i = (y * info.width + x) * 3;
      if (0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2] < 100) {
        all++;
        if (y >= start) bottom++;
      }
    }
  }
  return { all, bottom };
}

const withoutText = (svg: string) => svg.replace(/<text[\s\S]*?<\/text>/g, '');

describe('npm run report', () => {
  it('bench ends by writing the report; every figure has its spec, SVG and PNG, plus summary tables', () => {
    expect(fs.existsSync(path.join(REPORT, 'index.html'))).toBe(true);
    for (const f of FIGURES) {
      for (const ext of ['vl.json', 'svg', 'png'])
        expect(fs.statSync(path.join(REPORT, `${f}.${ext}`)).size, `${f}.${ext}`).toBeGreaterThan(200);
      const spec = JSON.parse(fs.readFileSync(path.join(REPORT, `${f}.vl.json`), 'utf8'));
      expect(spec.$schema).toMatch(/vega-lite/);
      expect(spec.data.values.length, f).toBeGreaterThan(0);
    }
    const md = fs.readFileSync(path.join(REPORT, 'summary.md'), 'utf8');
    // The findings head the summary; findings.json holds every verdict it states.
    expect(md.startsWith('## Findings')).toBe(true);
    const { rule, findings } = JSON.parse(fs.readFileSync(path.join(REPORT, 'findings.json'), 'utf8'));
    expect(rule).toMatch(/The seed is the unit/);
    const atBudget = findings.filter((f: { question: string }) => f.question === 'accuracy at the budget');
    expect(atBudget.length).toBeGreaterThan(0);
    for (const f of findings.filter((x: { question: string }) => x.question !== 'time to target')) expect(md).toContain(f.sentence);
    expect(atBudget[0].b).toBe('emp-ssl-x4'); // the suite's reference: EMP-SSL's entry
    expect(fs.readFileSync(path.join(REPORT, 'summary.tex'), 'utf8')).toMatch(/\\toprule[\s\S]*simclr & synthetic[\s\S]*\\bottomrule/);
    expect(md).toMatch(/\| simclr \| synthetic \| steps 3.00 \| 2 \|/);
    expect(md).toMatch(/\| emp-ssl-x4 \|/);
    // Departures from the sources: the suite's overrides and the method files' own, per setting.
    expect(md).toContain("## Departures from the sources' settings");
    expect(md).toContain('- simclr: batch 8 images (source 256)');
    expect(md).toContain('- simclr: augmentations[0].interpolation: crops resized bilinearly');
    expect(md).toContain('- emp-ssl-x4: views 4 of the first view group');
    expect(md).not.toMatch(/emp-ssl-x4: lr /); // EMP-SSL's rate does not scale with batch: nothing overridden
    expect(fs.readFileSync(path.join(REPORT, 'index.html'), 'utf8')).toContain('<li>simclr: batch 8 images (source 256)</li>');
    const csv = fs.readFileSync(path.join(REPORT, 'summary.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(3);
    expect(csv[0].startsWith('method,dataset,budget,seeds')).toBe(true);
  });

  it('re-renders from the run directory alone, with --json and --format', () => {
    const out = path.join(TMP, 'svg-only');
    const r = spawnSync(TSX, ['bench/report.ts', RUN, `--out=${out}`, '--format=svg', '--json'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.figures.map((f: { name: string }) => f.name)).toEqual(FIGURES);
    expect(fs.existsSync(path.join(out, 'pareto.svg'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'pareto.png'))).toBe(false);
    const bad = spawnSync(TSX, ['bench/report.ts', TMP], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/is not a run directory \(no manifest.json\)/);
    const fmt = spawnSync(TSX, ['bench/report.ts', RUN, '--format=pdf'], { cwd: ROOT, encoding: 'utf8' });
    expect(fmt.stderr).toMatch(/unknown format "pdf"; valid: svg, png, html/);
  });

  it('--protocol=bag2 draws the figures and the summary from the bag results; an unknown protocol names those recorded', () => {
    const out = path.join(TMP, 'bag2');
    const r = spawnSync(TSX, ['bench/report.ts', RUN, `--out=${out}`, '--format=svg', '--protocol=bag2'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const rows = fs
      .readFileSync(path.join(RUN, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const simclr = rows.filter((x) => x.label === 'simclr' && x.final);
    expect(simclr).toHaveLength(2);
    // Every point has the bag (bag.every defaults to true), not only the final one.
    expect(rows.every((x) => typeof x.metrics.bag2_linear_mean === 'number')).toBe(true);
    const bagMean = simclr.reduce((a, x) => a + x.metrics.bag2_linear_mean, 0) / 2;
    const singleMean = simclr.reduce((a, x) => a + x.metrics.linear, 0) / 2;
    const line = (dir: string) =>
      fs
        .readFileSync(path.join(dir, 'summary.csv'), 'utf8')
        .split('\n')
        .find((l) => l.startsWith('simclr,'))!
        .split(',');
    const col = fs.readFileSync(path.join(out, 'summary.csv'), 'utf8').split('\n')[0].split(',').indexOf('linear_mean');
    expect(Number(line(out)[col])).toBeCloseTo(bagMean, 10);
    expect(Number(line(REPORT)[col])).toBeCloseTo(singleMean, 10);
    const bad = spawnSync(TSX, ['bench/report.ts', RUN, '--protocol=bag128'], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/no results for protocol "bag128"; they have: single, bag2, authors/);
  });

  it("evaluates EMP-SSL by its authors' protocol at every point beside the common ones, with its test-time cost", () => {
    const rows = fs
      .readFileSync(path.join(RUN, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const emp = rows.filter((x) => x.method === 'emp-ssl');
    expect(emp.length).toBe(4); // 2 seeds x 2 points
    for (const r of emp) {
      expect(r.metrics.authors_linear_mean).toBeGreaterThanOrEqual(0);
      expect(r.metrics.authors_linear_wd).toBeGreaterThan(0); // chosen on validation bags, not the centre view's
      expect(typeof r.metrics.linear).toBe('number');
    }
    expect(rows.filter((x) => x.method === 'simclr').some((r) => 'authors_linear_mean' in r.metrics)).toBe(false);
    // Every metric written (single, bag, authors) is a key metric_keys.ts makes and reads back.
    for (const k of new Set(rows.flatMap((x) => Object.keys(x.metrics)))) expect(metricKey(parseMetricKey(k)!), k).toBe(k);
    const cost = emp.find((r) => r.final).test_cost;
    const authors = cost.find((t: { protocol: string }) => t.protocol === 'authors');
    const bag2 = cost.find((t: { protocol: string }) => t.protocol === 'bag2');
    expect(authors.patches).toBe(3);
    // Three patches through the backbone and the projector's first layer cost more than two through the backbone.
    expect(authors.flops_per_image).toBeGreaterThan(1.5 * bag2.flops_per_image);
    expect(fs.readFileSync(path.join(REPORT, 'index.html'), 'utf8')).toMatch(
      /authors: the methods' own protocols where the suite names them \(mean of 3 of their own patches\)/,
    );
  });

  it('SVGs carry their axis titles and method names as text', () => {
    const svg = (f: string) => fs.readFileSync(path.join(REPORT, `${f}.svg`), 'utf8');
    for (const title of ['epochs', 'training wall-clock (s)', 'training FLOPs', 'crops processed', 'accuracy (linear probe)'])
      expect(svg('accuracy-vs-cost')).toContain(title);
    expect(svg('accuracy-vs-cost')).toContain('emp-ssl-x4');
    expect(svg('memory')).toContain("peak memory (MiB, max over seeds; each trial's own)");
    expect(svg('verdicts')).toContain('difference in linear accuracy (percentage points)');
    expect(svg('final-accuracy')).toContain('final linear accuracy (test split)');
    expect(svg('test-time-cost')).toContain('test-time FLOPs per image (log scale)');
    expect(svg('time-to-target')).toContain('target accuracy');
    expect(svg('evaluation-variance')).toContain('2 patches');
  });

  it('PNGs contain the text (dark pixels in the axis-title band), which a missing font would silently drop', async () => {
    for (const f of ['accuracy-vs-cost', 'pareto', 'memory']) {
      const svg = fs.readFileSync(path.join(REPORT, `${f}.svg`), 'utf8');
      const png = fs.readFileSync(path.join(REPORT, `${f}.png`));
      const withText = await darkPixels(png);
      const noText = await darkPixels(svgToPng(withoutText(svg)));
      expect(withText.bottom, f).toBeGreaterThan(noText.bottom + 200); // the x-axis title's glyphs
      expect(withText.all, f).toBeGreaterThan(noText.all + 1000);
    }
    // The failure this guards against: resvg with no font file renders no glyphs at all.
    const svg = fs.readFileSync(path.join(REPORT, 'pareto.svg'), 'utf8');
    const fontless = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, background: 'white', font: { loadSystemFonts: false } })
      .render()
      .asPng();
    const blank = await darkPixels(fontless);
    const bare = await darkPixels(svgToPng(withoutText(svg)));
    expect(Math.abs(blank.all - bare.all)).toBeLessThan(50);
  });

  it('escapes text from configuration in the HTML', () => {
    const html = reportHtml({
      title: 'report <b>x</b>',
      figures: [
        {
          figure: { name: 'f', title: 'T & "q"', critique: 'c', spec: {} },
          vega: { data: [{ values: [{ label: '</script><script>alert(1)</script>' }] }] },
        },
      ],
      summary: [
        {
          method: '<img src=x onerror=alert(1)>',
          dataset: 'd',
          budget: 'b',
          seeds: 1,
          failed: 0,
          linear_mean: 0.5,
          linear_sd: 0,
          linear_low: null,
          linear_high: null,
          gain_mean: null,
          gain_low: null,
          gain_high: null,
          knn20_mean: null,
          train_seconds: 1,
          train_flops: 1,
          crops: 1,
          epochs: 1,
          step_peak_mib: null,
        },
      ],
      findings: [],
      failures: ['vicreg <x> on synthetic: error'],
      rules: ['a < b'],
      departures: ['byol: lr <1>'],
      provenance: ["it's"],
      runs: ['/tmp/<run>'],
      mixed: 'Mixed run: <rows>',
    });
    expect(html).toContain('Mixed run: &lt;rows&gt;');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('</script><script>alert(1)');
    expect(html).toContain('\\u003c/script\\u003e');
    expect(html).toContain('<title>report &lt;b&gt;x&lt;/b&gt;</title>');
    expect(html).toContain('<li>vicreg &lt;x&gt; on synthetic: error</li>');
    expect(html).toContain('<li>byol: lr &lt;1&gt;</li>');
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  const browser = fs.existsSync(CHROMIUM);
  it.skipIf(!browser && !process.env.CI)(
    `renders every chart in headless Chromium with no console error${browser ? '' : ' (skipped: /usr/bin/chromium is not installed; apt-get install chromium)'}`,
    async () => {
      const { chromium } = await import('playwright-core');
      const b = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      try {
        const page = await b.newPage({ viewport: { width: 1300, height: 900 } });
        const errors: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') errors.push(m.text());
        });
        page.on('pageerror', (e) => errors.push(e.message));
        page.on('request', (r) => {
          if (!r.url().startsWith('file://')) errors.push(`network request to ${r.url()} (the report must work offline)`);
        });
        await page.goto(`file://${path.join(REPORT, 'index.html')}`);
        await page.waitForFunction((n) => document.body.dataset.chartsDone === String(n), FIGURES.length, { timeout: 60_000 });
        const states = await page.$$eval('.chart', (els) =>
          els.map((e) => [(e as HTMLElement).dataset.rendered, e.querySelectorAll('svg text').length] as [string, number]),
        );
        expect(states).toHaveLength(FIGURES.length);
        for (const [state, texts] of states) {
          expect(state).toBe('true');
          expect(texts).toBeGreaterThan(5);
        }
        expect(await page.textContent('table')).toContain('emp-ssl-x4');
        const shot = path.join(REPORT, 'screenshot.png');
        await page.screenshot({ path: shot, fullPage: true });
        expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
        expect(errors).toEqual([]);
      } finally {
        await b.close();
      }
    },
  );
});
