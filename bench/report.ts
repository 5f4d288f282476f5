/**
 * npm run report -- RUN_DIR [RUN_DIR...] [--out=DIR] [--format=svg,png,html] [--protocol=single|bagK] [--json]
 * npm run report -- agree A B [--json]
 */
import fs from 'node:fs';
import path from 'node:path';
import { compareFindings, describeAgreement, pairedCount } from '../reports/agreement.js';
import type { Finding } from '../reports/findings.js';
import { parseFlags, runMain, UsageError } from '../src/cli.js';
import { FORMATS, makeReport, ReportError, type Format } from '../reports/report.js';

const USAGE = `usage: npm run report -- RUN_DIR [RUN_DIR...] [options]
       npm run report -- agree A B [--json]

Renders the figures and tables that answer each reviewer critique from run directories (their
results*.jsonl and manifest.json): SVG, PNG and an offline HTML page, with each figure's Vega-Lite spec.

options:
  --out=DIR           where to write (default: RUN_DIR/report for the first run)
  --format=LIST       any of ${FORMATS.join(',')} (default all; the .vl.json specs are always written)
  --protocol=NAME     draw every figure and the summary under one evaluation protocol: single (one centre
                      view) or bagK (mean of K patches), as the runs recorded them (default: single, plus
                      time-to-target and accuracy figures for each bag protocol)
  --json              print what was written as JSON

agree A B             do two runs' verdicts agree? A and B: run directories (their report/findings.json),
                      report directories or findings.json files. Pairs the verdicts by what they compare
                      and lists those clear in one run only and the contradictions (one's "better" the
                      other's "worse"); exit 1 if any contradicts`;

/** The findings of a run directory, a report directory or a findings.json file. */
function readFindings(arg: string): Finding[] {
  const candidates = [arg, path.join(arg, 'findings.json'), path.join(arg, 'report', 'findings.json')];
  const file = candidates.find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
  if (!file) throw new UsageError(`${arg} holds no findings.json (nor report/findings.json): run npm run report -- RUN_DIR first`);
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!Array.isArray(json?.findings)) throw new UsageError(`${file} is not a findings.json of this harness (no findings list)`);
  return json.findings as Finding[];
}

function agree(args: string[], json: boolean): void {
  if (args.length !== 2) throw new UsageError(`agree takes two runs, got ${args.length}\n\n${USAGE}`);
  const g = compareFindings(readFindings(args[0]), readFindings(args[1]));
  if (json) {
    const pairs = (ps: typeof g.same) =>
      ps.map((p) => ({ key: p.key, a: p.a.verdict, b: p.b.verdict, a_sentence: p.a.sentence, b_sentence: p.b.sentence }));
    process.stdout.write(
      `${JSON.stringify({ paired: pairedCount(g), same: g.same.length, one_clear: pairs(g.oneClear), contradictions: pairs(g.contradictions), only_a: g.onlyA, only_b: g.onlyB })}\n`,
    );
  } else process.stdout.write(`${describeAgreement(g, ['A', 'B'])}\n`);
  if (g.contradictions.length > 0) process.exitCode = 1;
}

runMain(async () => {
  const { values, positionals } = parseFlags(
    process.argv.slice(2),
    { out: { type: 'string' }, format: { type: 'string' }, protocol: { type: 'string' }, json: { type: 'boolean' } },
    USAGE,
    true,
  );
  if (positionals[0] === 'agree') return agree(positionals.slice(1), Boolean(values.json));
  if (positionals.length === 0) throw new UsageError(`name at least one run directory\n\n${USAGE}`);
  const formats = (values.format ?? FORMATS.join(',')).split(',').map((f) => f.trim());
  for (const f of formats)
    if (!(FORMATS as readonly string[]).includes(f)) throw new UsageError(`unknown format "${f}"; valid: ${FORMATS.join(', ')}`);
  const dirs = positionals.map((d) => path.resolve(d));
  const out = path.resolve(values.out ?? path.join(dirs[0], 'report'));
  let result;
  try {
    result = await makeReport(dirs, out, formats as Format[], values.protocol);
  } catch (e) {
    if (e instanceof ReportError) throw new UsageError(e.message);
    throw e;
  }
  for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(`report: ${result.html ?? result.outDir}\n`);
    for (const f of result.figures) process.stdout.write(`  ${f.name}: ${f.files.map((x) => path.basename(x)).join(', ')}\n`);
  }
});
