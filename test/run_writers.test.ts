/**
 * Who writes a run directory: one process at a time (a second is refused, naming the holder), a resume by other
 * code or on another machine refused unless --allow-mixed (then the report says which rows came from where),
 * and Ctrl-C / SIGTERM ending with the command that continues the run. Tiny suites on the synthetic set, run
 * through `npm run bench` as a user would.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRows } from '../src/results/store.js';
import { resumeCommand } from '../src/runner/interrupt.js';
import { lockRun, RunLockedError } from '../src/runner/run_lock.js';
import { TINY_EVALUATION, writeTinySuite } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-writers-'));
const DATA = path.join(TMP, 'data');
fs.mkdirSync(DATA);
const EVALUATION = { ...TINY_EVALUATION, bag: { patches: [] }, testCost: { patches: [] } };

const bench = (args: string[]) =>
  spawnSync(TSX, ['bench/bench.ts', `--data-dir=${DATA}`, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });

/**
 * Starts a bench as `npm run bench` does (node --import tsx: the tsx wrapper would SIGKILL a child that does not
 * answer a relayed signal within 60 ms), in its own process group as a terminal's Ctrl-C reaches it.
 */
function startBench(args: string[]): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bench.ts', `--data-dir=${DATA}`, ...args], {
    cwd: ROOT,
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

async function until(condition: () => boolean, what: string, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const points = (dir: string) => readRows(dir).map((r) => `${r.trial_id}:${r.point}`);

describe('the run lock', () => {
  it('refuses a second writer while the first holds the directory, naming it; shards of one split share it', () => {
    const dir = fs.mkdtempSync(path.join(TMP, 'lock-'));
    const logs: string[] = [];
    const first = lockRun(dir, null, ['--suite=x'], (m) => logs.push(m));
    expect(() => lockRun(dir, null, [], () => {})).toThrow(RunLockedError);
    expect(() => lockRun(dir, null, [], () => {})).toThrow(new RegExp(`process ${process.pid} on ${os.hostname()} .*--suite=x`));
    expect(() => lockRun(dir, { index: 1, count: 2 }, [], () => {})).toThrow(/being written by process/);
    first.release();
    const a = lockRun(dir, { index: 1, count: 2 }, [], () => {});
    const b = lockRun(dir, { index: 2, count: 2 }, [], () => {});
    expect(() => lockRun(dir, { index: 1, count: 3 }, [], () => {})).toThrow(RunLockedError); // another split overlaps
    expect(() => lockRun(dir, null, [], () => {})).toThrow(RunLockedError);
    a.release();
    b.release();
    lockRun(dir, null, [], () => {}).release();
    expect(logs).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("takes over a dead holder's lock with a message: at once on this host, after its stale time elsewhere", () => {
    const dir = fs.mkdtempSync(path.join(TMP, 'stale-'));
    const dead = spawnSync('true').pid!; // a process id that has just ended
    const plant = (host: string, pid: number, ageMs = 0) => {
      fs.mkdirSync(path.join(dir, 'writer.lock'));
      const holder = path.join(dir, 'writer.holder.json');
      fs.writeFileSync(holder, JSON.stringify({ pid, host, started: 'then', argv: ['--seeds=2'] }));
      const then = new Date(Date.now() - ageMs);
      fs.utimesSync(path.join(dir, 'writer.lock'), then, then);
    };
    const logs: string[] = [];
    plant(os.hostname(), dead);
    lockRun(dir, null, [], (m) => logs.push(m)).release();
    expect(logs).toEqual([expect.stringMatching(new RegExp(`took over the lock of process ${dead} on .*no longer running`))]);
    // On another node: alive for all this host can tell, until it stops refreshing the lock.
    plant('node-17', 4242);
    expect(() => lockRun(dir, null, [], () => {})).toThrow(/being written by process 4242 on node-17/);
    fs.rmSync(path.join(dir, 'writer.lock'), { recursive: true });
    plant('node-17', 4242, 11 * 60_000);
    logs.length = 0;
    lockRun(dir, null, [], (m) => logs.push(m)).release();
    expect(logs).toEqual([expect.stringMatching(/took over the lock of process 4242 on node-17 .*not refreshed for 10 minutes/)]);
  });

  it('the resume command keeps every flag but --out and --resume, quoted for a shell', () => {
    expect(resumeCommand(['--suite=default', '--out', '/a b', '--resume', '--seeds=3'], '/r/x y')).toBe(
      "npm run bench -- --suite=default --seeds=3 '--out=/r/x y' --resume",
    );
  });
});

describe('writers of one run directory', { timeout: 400_000 }, () => {
  it('a second process is refused while the first runs; Ctrl-C then ends the first with the resume command, which finishes the run with each point once', async () => {
    const out = path.join(TMP, 'two-writers');
    const suite = writeTinySuite(TMP, 'two-writers', { ...EVALUATION, fractions: [0.25, 0.5, 0.75, 1] }, { budgets: ['steps:400'] });
    const first = startBench([`--suite=${suite}`, `--out=${out}`]);
    await until(() => /\[1\/1\] simclr on synthetic/.test(first.out()), 'the first run to start its trial');

    const second = bench([`--suite=${suite}`, `--out=${out}`, '--resume']);
    expect(second.status, second.stderr).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(`error: \\S+two-writers is being written by process \\d+ on ${os.hostname()} \\(since .*--suite=`),
    );
    expect(second.stderr).not.toMatch(/^\s+at /m);

    await until(() => fs.existsSync(path.join(out, 'results.jsonl')) && readRows(out).length >= 1, 'the first evaluation point');
    process.kill(-first.child.pid!, 'SIGINT');
    expect(await first.exit).toBe(130);
    const command = /To continue the run:\n {2}(.+)\n/.exec(first.err())?.[1];
    expect(command, first.err()).toBe(`npm run bench -- --data-dir=${DATA} --suite=${suite} --out=${out} --resume`);
    expect(readRows(out).some((r) => r.final)).toBe(false);
    expect(fs.readdirSync(out).filter((f) => f.startsWith('writer'))).toEqual([]); // released on the way out

    const resumed = bench(command!.split(' ').slice(4));
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(points(out)).toEqual([...new Set(points(out))]);
    expect(readRows(out).map((r) => r.point)).toEqual([0, 1, 2, 3]);
  });

  it('a resume by another commit is refused, naming both; --allow-mixed continues and the report says which rows came from where', () => {
    const out = path.join(TMP, 'mixed');
    const suite = writeTinySuite(TMP, 'mixed', EVALUATION, {
      methods: [
        { method: 'simclr', batchImages: 8 },
        { method: 'byol', batchImages: 8 },
      ],
    });
    expect(bench([`--suite=${suite}`, `--out=${out}`]).status).toBe(0);
    // Readers take no lock: a report and a plan read a directory a writer holds.
    const held = lockRun(out, null, [], () => {});
    const report = spawnSync(TSX, ['bench/report.ts', out, '--format=html'], { cwd: ROOT, encoding: 'utf8' });
    expect(report.status, report.stderr).toBe(0);
    expect(bench([`--suite=${suite}`, `--out=${out}`, '--plan']).status).toBe(0);
    held.release();
    const rows = readRows(out);
    const here = rows[0].origin!;
    expect(here.host).toBe(os.hostname());
    expect(rows.every((r) => JSON.stringify(r.origin) === JSON.stringify(here))).toBe(true);
    // As if the first trial had been run by an older commit and the second had not run yet.
    const old = 'a'.repeat(40);
    const [firstTrial] = [...new Set(rows.map((r) => r.trial_id))];
    const kept = rows
      .filter((r) => r.trial_id === firstTrial)
      .map((r) => ({ ...r, origin: { ...here, commit: old, dirty: false, diff: null } }));
    fs.writeFileSync(path.join(out, 'results.jsonl'), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    manifest.provenance.git = { commit: old, dirty: false, diff: null };
    fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifest));

    const refused = bench([`--suite=${suite}`, `--out=${out}`, '--resume']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(
      /was written by commit aaaaaaaaaa; this checkout is (commit [0-9a-f]{10}|no git commit).*add --allow-mixed/,
    );
    expect(readRows(out)).toHaveLength(kept.length);

    const mixed = bench([`--suite=${suite}`, `--out=${out}`, '--resume', '--allow-mixed']);
    expect(mixed.status, mixed.stderr).toBe(0);
    expect(mixed.stdout).toMatch(/warning: --allow-mixed: this run now mixes rows/);
    expect(mixed.stdout).toMatch(/warning: Mixed run: its rows came from 2 code versions or machines \(\d+ rows by commit/);
    const summary = fs.readFileSync(path.join(out, 'report', 'summary.md'), 'utf8');
    expect(summary.split('\n')[0]).toMatch(/^> \*\*Mixed run: .*rows by commit aaaaaaaaaa on machine \w+ \(/);
  });
});
