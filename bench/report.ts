/**
 * npm run report -- RUN_DIR [RUN_DIR...] [--out=DIR] [--format=svg,png,html] [--protocol=single|bagK] [--json]
 */
import path from 'node:path';
import { parseFlags, runMain, UsageError } from '../src/cli.js';
import { FORMATS, makeReport, ReportError, type Format } from '../reports/report.js';

const USAGE = `usage: npm run report -- RUN_DIR [RUN_DIR...] [options]

Renders the figures and tables that answer each reviewer critique from run directories (their
results*.jsonl and manifest.json): SVG, PNG and an offline HTML page, with each figure's Vega-Lite spec.

options:
  --out=DIR           where to write (default: RUN_DIR/report for the first run)
  --format=LIST       any of ${FORMATS.join(',')} (default all; the .vl.json specs are always written)
  --protocol=NAME     draw every figure and the summary under one evaluation protocol: single (one centre
                      view) or bagK (mean of K patches), as the runs recorded them (default: single, plus
                      time-to-target and accuracy figures for each bag protocol)
  --json              print what was written as JSON`;

runMain(async () => {
  const { values, positionals } = parseFlags(
    process.argv.slice(2),
    { out: { type: 'string' }, format: { type: 'string' }, protocol: { type: 'string' }, json: { type: 'boolean' } },
    USAGE,
    true,
  );
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
