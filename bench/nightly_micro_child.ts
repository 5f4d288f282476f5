/**
 * One side of the nightly's same-night A/B: a process that loads the micro-benchmarks and the backend from
 * --tree (a checkout of the commit measured, sharing this checkout's node_modules), then answers requests
 * on stdin, one JSON object per line, with one line on stdout each, prefixed "@nightly ":
 *   {"list": true}               -> {"names": [...]}
 *   {"run": NAME, "ms": T}       -> {"name": NAME, "samples": [ms per call, ...]}
 * so the parent can alternate A and B benchmark by benchmark (src/nightly/interleave.ts). Methods the tree
 * does not know are left out (a method added since the baseline has nothing to compare with).
 *
 *   tsx bench/nightly_micro_child.ts --tree=DIR --methods=a,b [--backend=NAME]
 */
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { REPLY_PREFIX } from '../src/nightly/interleave.js';

const { values } = parseArgs({ options: { tree: { type: 'string' }, methods: { type: 'string' }, backend: { type: 'string' } } });
if (!values.tree || !values.methods) {
  process.stderr.write('usage: tsx bench/nightly_micro_child.ts --tree=DIR --methods=a,b [--backend=NAME]\n');
  process.exit(2);
}
const tree = path.resolve(values.tree);
const from = async (file: string) => {
  try {
    return await import(pathToFileURL(path.join(tree, file)).href);
  } catch (e) {
    throw new Error(`the tree at ${tree} has no loadable ${file} (a commit older than the nightly's A/B?): ${(e as Error).message}`);
  }
};
const { initBackend } = await from('engine/backends/select.ts');
const micro = await from('src/cases/nightly_micro.ts');
const { METHODS } = await from('methods/registry.ts');
await initBackend({ backend: values.backend ?? 'auto' });
const methods = values.methods.split(',').filter((m) => m in METHODS);

interface Benchmarks {
  names(ms: number): Promise<string[]>;
  run(name: string, ms: number): Promise<number[]>;
}
let benchmarks: Benchmarks;
if (micro.buildMicroBenchmarks) {
  const set = micro.buildMicroBenchmarks({ methods, images: 16 });
  // Two samples per slice: a slice is one of several per round, and the slowest benchmark takes 0.5 s a call.
  benchmarks = { names: async () => set.names, run: (name, ms) => set.run(name, ms, 2) };
} else {
  // Commits from before buildMicroBenchmarks: one pass of everything, answered from it.
  let all: Map<string, number[]> | null = null;
  const pass = async (ms: number) => {
    all ??= new Map(
      (await micro.runMicroBenchmarks({ methods, images: 16, timeMs: ms, log: () => {} })).map((r: { name: string; samples: number[] }) => [
        r.name,
        r.samples,
      ]),
    );
    return all;
  };
  benchmarks = { names: async (ms) => [...(await pass(ms)).keys()], run: async (name, ms) => (await pass(ms)).get(name) ?? [] };
}

const reply = (x: unknown) => process.stdout.write(`${REPLY_PREFIX}${JSON.stringify(x)}\n`);
for await (const line of readline.createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const request = JSON.parse(line) as { list?: boolean; run?: string; ms?: number };
  if (request.list) reply({ names: await benchmarks.names(request.ms ?? 200) });
  else if (request.run) reply({ name: request.run, samples: await benchmarks.run(request.run, request.ms ?? 200) });
}
process.exit(0);
