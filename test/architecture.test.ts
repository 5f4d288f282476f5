/**
 * The floors of ARCHITECTURE.md, checked on the import statements themselves: each folder imports only
 * downward, the engine nothing of the project, reports only result rows, and no method name is
 * spelled out in reports/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { METHODS } from '../methods/registry.js';

const ROOT = path.resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));
}

/** The project files a source file imports, as paths relative to the repository root. */
function projectImports(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]);
  return specs.map((s) => path.relative(ROOT, path.resolve(ROOT, path.dirname(file), s)).replace(/\.js$/, '.ts'));
}

function violations(dir: string, allowed: string[]): string[] {
  return sources(dir).flatMap((f) =>
    projectImports(f)
      .filter((i) => !allowed.some((a) => i === a || i.startsWith(`${a}/`)))
      .map((i) => `${f} imports ${i}`),
  );
}

describe('floors import only downward', () => {
  it('engine/ imports nothing of the project outside it', () => {
    expect(violations('engine', ['engine'])).toEqual([]);
  });
  it('datasets/ imports only the engine', () => {
    expect(violations('datasets', ['datasets', 'engine'])).toEqual([]);
  });
  it('methods/ imports only the engine and datasets (augmentation recipes)', () => {
    expect(violations('methods', ['methods', 'datasets', 'engine'])).toEqual([]);
  });
  it('src/ (the harness) never imports reports/ or bench/', () => {
    expect(violations('src', ['src', 'methods', 'datasets', 'engine'])).toEqual([]);
  });
  it('reports/ reads result rows only: no engine, runner, evaluation or methods', () => {
    expect(violations('reports', ['reports', 'src/results', 'src/stats.ts'])).toEqual([]);
  });
  it('no method name is a literal in reports/', () => {
    const names = Object.keys(METHODS);
    const hits = sources('reports').flatMap((f) => {
      const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
      return names.filter((n) => new RegExp(`['"\`/]${n}['"\`|/]`).test(text)).map((n) => `${f}: ${n}`);
    });
    expect(hits).toEqual([]);
  });
});
