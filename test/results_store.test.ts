import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resultRow as row } from './helpers.js';
import { GpuMemoryPoller } from '../src/measure/gpu_memory.js';
import { appendRow, finishedTrials, readRows, repairTornTail, sweepTemporaries, writeFileAtomic } from '../src/results/store.js';
import { latestRows, summaryCsv, summaryTable } from '../src/results/summary.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-store-'));

describe('results store', () => {
  it('appends rows, reads them back, and knows which trials finished', () => {
    const dir = tmp();
    const file = path.join(dir, 'results.jsonl');
    appendRow(file, row({}));
    appendRow(file, row({ point: 1, fraction: 1, final: true }));
    appendRow(path.join(dir, 'results.shard-2-of-2.jsonl'), row({ trial_id: 't2' }));
    const rows = readRows(dir);
    expect(rows).toHaveLength(3);
    expect([...finishedTrials(rows)]).toEqual(['t1']);
  });

  it('skips a torn last line with a warning, but refuses corruption in the middle', () => {
    const dir = tmp();
    const file = path.join(dir, 'results.jsonl');
    appendRow(file, row({}));
    fs.appendFileSync(file, '{"schema":1,"run_id":"r","tri');
    const warnings: string[] = [];
    expect(readRows(dir, (w) => warnings.push(w))).toHaveLength(1);
    expect(warnings[0]).toMatch(/results\.jsonl:2: skipped a torn last row/);
    fs.appendFileSync(file, '\n');
    appendRow(file, row({ point: 1 }));
    expect(() => readRows(dir)).toThrow(/results\.jsonl:2 is not a JSON row; the file is corrupt/);
  });

  it('writes whole files atomically (no temporary left behind)', () => {
    const dir = tmp();
    const file = path.join(dir, 'manifest.json');
    writeFileAtomic(file, 'one');
    writeFileAtomic(file, 'two');
    expect(fs.readFileSync(file, 'utf8')).toBe('two');
    expect(fs.readdirSync(dir)).toEqual(['manifest.json']);
  });

  it('cuts a torn last row away (or completes a whole one) so that the next append starts a line', () => {
    const dir = tmp();
    const file = path.join(dir, 'results.jsonl');
    appendRow(file, row({}));
    expect(repairTornTail(file)).toBeNull();
    fs.appendFileSync(file, '{"schema":1,"run_id":"r","tri');
    expect(repairTornTail(file)).toMatch(/results\.jsonl:2: removed a torn last row \(29 bytes/);
    appendRow(file, row({ point: 1, final: true }));
    expect(readRows(dir).map((r) => r.point)).toEqual([0, 1]);
    fs.appendFileSync(file, JSON.stringify(row({ trial_id: 't2' })));
    expect(repairTornTail(file)).toMatch(/completed the last row/);
    appendRow(file, row({ trial_id: 't3' }));
    expect(readRows(dir).map((r) => r.trial_id)).toEqual(['t1', 't1', 't2', 't3']);
  });

  it('a write that fails (disk full) leaves no temporary and no partial row, and names the file', () => {
    const dir = tmp();
    const file = path.join(dir, 'results.jsonl');
    appendRow(file, row({}));
    const before = fs.readFileSync(file, 'utf8');
    process.env.SSL_BENCH_FAULT = 'disk-full:ssl-store-';
    try {
      expect(() => appendRow(file, row({ point: 1 }))).toThrow(
        /cannot write \S+results\.jsonl: no space left on the device \(ENOSPC\); free space there/,
      );
      expect(() => writeFileAtomic(path.join(dir, 'manifest.json'), 'x'.repeat(1000))).toThrow(/manifest\.json: no space left/);
    } finally {
      delete process.env.SSL_BENCH_FAULT;
    }
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(fs.readdirSync(dir)).toEqual(['results.jsonl']);
  });

  it("sweeps the temporaries a killed process left (only those asked for), never its own process's", () => {
    const dir = tmp();
    for (const f of ['a.ckpt.tmp-123', 'b.ckpt.tmp-456', `c.ckpt.tmp-${process.pid}`, 'a.ckpt', 'notes.tmp'])
      fs.writeFileSync(path.join(dir, f), '');
    expect(sweepTemporaries(dir, (f) => f !== 'b.ckpt')).toEqual(['a.ckpt.tmp-123']);
    expect(fs.readdirSync(dir).sort()).toEqual(['a.ckpt', 'b.ckpt.tmp-456', `c.ckpt.tmp-${process.pid}`, 'notes.tmp']);
  });

  it('a repeated point (resumed trial) counts once, the latest row winning', () => {
    const rows = latestRows([row({ loss: 1 }), row({ point: 1, final: true }), row({ loss: 2 })]);
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.point === 0)?.loss).toBe(2);
  });

  it('summary.csv has one header and stable, named columns; the table aggregates seeds', () => {
    const rows = [
      row({
        final: true,
        point: 1,
        metrics: { linear: 0.5, knn20: 0.4 },
        test_cost: [
          { protocol: 'bag16', patches: 16, flops_per_image: 5, latency_ms_batch1: 2, images_per_second: 3, throughput_batch_crops: 16 },
        ],
      }),
      row({ trial_id: 't2', seed: 1, final: true, point: 1, metrics: { linear: 0.7, knn20: 0.6 } }),
      row({
        trial_id: 't3',
        label: 'byol',
        method: 'byol',
        final: true,
        status: 'diverged',
        error: 'the loss became NaN, "x"',
        metrics: {},
      }),
    ];
    const csv = summaryCsv(rows).trim().split('\n');
    expect(csv).toHaveLength(4);
    const header = csv[0].split(',');
    expect(header.slice(0, 3)).toEqual(['trial_id', 'label', 'method']);
    expect(header).toContain('linear');
    expect(header).toContain('test_bag16_flops_per_image');
    expect(header[header.length - 1]).toBe('error');
    expect(csv[3]).toContain('"the loss became NaN, ""x"""');
    const table = summaryTable(rows);
    // No random-init row in this run: no gain to show.
    expect(table).toMatch(/simclr\s+synthetic\s+steps 10.0\s+2\s+60\.0 ± 14\.1\s+-\s+50\.0 ± 14\.1/);
    expect(table).toMatch(/byol .* diverged/);
  });
});

describe('GPU memory poller', () => {
  it("reads this process's memory from nvidia-smi output, keeping the peak", async () => {
    const dir = tmp();
    const fake = path.join(dir, 'nvidia-smi');
    const state = path.join(dir, 'mib');
    fs.writeFileSync(state, '300');
    // A stand-in with nvidia-smi's output format: another process, then ours with a changing figure.
    fs.writeFileSync(fake, `#!/bin/sh\necho "1, 9999"\necho "${process.pid}, $(cat ${state})"\n`, { mode: 0o755 });
    const poller = new GpuMemoryPoller(process.pid, 60_000, fake);
    await poller.poll();
    expect(poller.peakBytes()).toBe(300 * 2 ** 20);
    fs.writeFileSync(state, '120');
    await poller.poll();
    expect(poller.peakBytes()).toBe(300 * 2 ** 20);
    poller.reset();
    await poller.poll();
    expect(poller.peakBytes()).toBe(120 * 2 ** 20);
  });

  it('says why there is no figure where nvidia-smi is missing', async () => {
    const poller = new GpuMemoryPoller(process.pid, 60_000, '/nonexistent/nvidia-smi');
    await poller.poll();
    expect(poller.peakBytes()).toBeNull();
    expect(poller.unavailable).toMatch(/nvidia-smi not found/);
  });
});
