/**
 * npm run selfcheck -- [--fixtures DIR] [--backend NAME] [--json]
 * Checks every method loss against loss fixtures (default test/fixtures/reference/losses, made by bench/parity/make_reference.py); exit 1 if any fails.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkFixtureDir } from '../src/selfcheck.js';
import { BACKEND_CHOICES, initBackend } from '../engine/backends/select.js';
import { parseBackendFlag, parseFlags, runMain, UsageError } from '../src/cli.js';

const DEFAULT_FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'reference', 'losses');

const USAGE = `usage: npm run selfcheck -- [options]

Checks each method's loss, named terms and gradients against fixture files and prints a table.

options:
  --fixtures=DIR   folder of *.json loss fixtures (default ${DEFAULT_FIXTURES})
  --backend=NAME   ${BACKEND_CHOICES.join('|')} (default auto)
  --json           one JSON object per fixture`;

runMain(async () => {
  const { values } = parseFlags(
    process.argv.slice(2),
    { fixtures: { type: 'string' }, backend: { type: 'string' }, json: { type: 'boolean' } },
    USAGE,
  );
  const info = await initBackend({ backend: parseBackendFlag(values.backend) });
  let results;
  try {
    results = await checkFixtureDir(path.resolve(values.fixtures ?? DEFAULT_FIXTURES));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.json) {
    for (const r of results) process.stdout.write(`${JSON.stringify({ ...r, backend: info.label })}\n`);
  } else {
    process.stdout.write(`backend: ${info.label}\n`);
    process.stdout.write(`${'fixture'.padEnd(28)} ${'method'.padEnd(13)} ${'loss err'.padStart(10)} ${'grad err'.padStart(10)}  pass\n`);
    for (const r of results) {
      const e = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x)).padStart(10);
      process.stdout.write(
        `${r.fixture.padEnd(28)} ${r.method.padEnd(13)} ${e(r.loss_error)} ${e(r.grad_error)}  ${r.pass ? 'yes' : `NO${r.error ? ` (${r.error})` : ''}`}\n`,
      );
    }
  }
  const failed = results.filter((r) => !r.pass).length;
  if (!values.json) process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
  if (failed > 0) process.exitCode = 1;
});
