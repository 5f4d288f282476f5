/**
 * npm run schema: writes bench/suites/method-entry.schema.json, the suite schema's method entry made from the
 * settings tables (methods/settings.ts and each method's file), for editors that validate suite files.
 * `--check` exits 1 when the file on disk is not what the tables make (test/settings.test.ts runs it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { currentMethodEntrySchema, SUITES_DIR } from '../src/runner/suite.js';

const file = path.join(SUITES_DIR, 'method-entry.schema.json');
const text = `${JSON.stringify(currentMethodEntrySchema(), null, 2)}\n`;
if (process.argv.includes('--help')) {
  console.log('usage: npm run schema [-- --check]\nWrites (or with --check, verifies) bench/suites/method-entry.schema.json.');
} else if (process.argv.includes('--check')) {
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (current !== text) {
    console.error(`${file} is not what the settings tables make; run npm run schema`);
    process.exit(1);
  }
  console.log(`${file} is current`);
} else {
  fs.writeFileSync(file, text);
  console.log(`wrote ${file}`);
}
