/**
 * One round of the nightly micro-benchmarks of a source tree, for the same-night A/B: run by `npm run nightly`
 * once per commit and round, in a fresh process (so each round sees its own thread placement and JIT state).
 * It loads the benchmarks and the backend from --tree (a checkout of the commit measured, sharing this
 * checkout's node_modules) and prints {"benchmarks": {name: samples in ms}} as one JSON line.
 *
 *   tsx bench/nightly_micro_child.ts --tree=DIR --methods=a,b --bench-time=MS [--backend=NAME]
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    tree: { type: 'string' },
    methods: { type: 'string' },
    'bench-time': { type: 'string' },
    backend: { type: 'string' },
  },
});
if (!values.tree || !values.methods || !values['bench-time']) {
  process.stderr.write('usage: tsx bench/nightly_micro_child.ts --tree=DIR --methods=a,b --bench-time=MS [--backend=NAME]\n');
  process.exit(2);
}
const from = (file: string) => import(pathToFileURL(path.join(path.resolve(values.tree!), file)).href);
// Both files have kept these names and signatures since the nightly began, so older commits load the same way.
const { initBackend } = await from('engine/backends/select.ts');
const { runMicroBenchmarks } = await from('src/cases/nightly_micro.ts');
await initBackend({ backend: values.backend ?? 'auto' });
const results: { name: string; samples: number[] }[] = await runMicroBenchmarks({
  methods: values.methods.split(','),
  images: 16,
  timeMs: Number(values['bench-time']),
  log: (line: string) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`${JSON.stringify({ benchmarks: Object.fromEntries(results.map((r) => [r.name, r.samples])) })}\n`);
process.exit(0);
