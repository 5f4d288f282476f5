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
  it('the shared model (src/model/) names no method and no part of one, comments included', () => {
    const names = [...Object.keys(METHODS), 'swav', 'byol', 'moco', 'prototype', 'sinkhorn', 'queue'];
    const found = sources('src/model').flatMap((f) => {
      const text = fs.readFileSync(path.join(ROOT, f), 'utf8').toLowerCase();
      return names.filter((n) => text.includes(n)).map((n) => `${f} names "${n}"`);
    });
    expect(found).toEqual([]);
  });

  it('no method name is a literal in reports/', () => {
    const names = Object.keys(METHODS);
    const hits = sources('reports').flatMap((f) => {
      const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
      return names.filter((n) => new RegExp(`['"\`/]${n}['"\`|/]`).test(text)).map((n) => `${f}: ${n}`);
    });
    expect(hits).toEqual([]);
  });
  it('no method name in reports/ code in any spelling (a caption too: EMP-SSL, SimCLR, Barlow Twins); comments may', () => {
    // Captions name the methods the rows hold (their labels), so a figure never describes a method that is absent.
    const spellings = methodSpellings();
    const hits = sources('reports').flatMap((f) => {
      const code = stripComments(fs.readFileSync(path.join(ROOT, f), 'utf8'));
      return spellings.filter((re) => re.test(code)).map((re) => `${f}: ${code.match(re)![0]}`);
    });
    expect(hits).toEqual([]);
  });
  it('the spelling rule catches captions and ignores comments', () => {
    const spellings = methodSpellings();
    const caught = (code: string) => spellings.some((re) => re.test(stripComments(code)));
    expect(caught("const c = 'Multi-view baselines against EMP-SSL';")).toBe(true);
    expect(caught('const c = `Tuned SimCLR`;')).toBe(true);
    expect(caught("title: 'Barlow Twins'")).toBe(true);
    expect(caught("critique: 'EMP-SSL-style bags'")).toBe(true);
    expect(caught('/** EMP-SSL: the mean of 128 patches */\nconst x = 1; // SwAV\nconst u = "https://x.org/a";')).toBe(false);
    expect(caught("const c = 'self-supervised';")).toBe(false);
  });
});

/** Each method's name in any case, its hyphens as hyphens, spaces or nothing ("EMP-SSL", "Barlow Twins"), as a word. */
function methodSpellings(): RegExp[] {
  return Object.keys(METHODS).map((n) => new RegExp(`(?<![\\w-])${n.split('-').join('[-_ ]?')}(?!\\w)`, 'i'));
}

/** `text` without its block and line comments (a `//` inside a string, as in a URL, kept). */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|(^|[^:'"`\\])\/\/.*$/gm, (_, before) => before ?? '');
}
