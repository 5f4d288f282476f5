import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOSSES } from '../src/selfcheck.js';
import { lossFixtureDir, readFixture } from './requirements.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-selfcheck-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
// The project's loss fixtures (test/fixtures/reference/losses), those whose method has a registered loss.
const fixtures = lossFixtureDir(Object.keys(LOSSES), path.join(tmp, 'project'));

const selfcheck = (args: string[]) =>
  spawnSync(TSX, ['bench/selfcheck.ts', '--backend=cpu', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });

describe('npm run selfcheck', () => {
  it("passes on the project's reference fixtures and prints the table", () => {
    const r = selfcheck(['--fixtures', fixtures.dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/emp-ssl\.json\s+emp-ssl\s+\S+\s+\S+\s+yes/);
    expect(fixtures.files.length).toBeGreaterThanOrEqual(8);
    expect(r.stdout).toMatch(new RegExp(`^${fixtures.files.length} passed, 0 failed$`, 'm'));
  });

  it('fails (exit 1) on a fixture whose expected values are wrong, and names it', () => {
    const good = readFixture<{ expected: { loss: number; grad: { z: { data: number[] } } } }>('losses/vicreg.json');
    fs.writeFileSync(path.join(tmp, 'vicreg-good.json'), JSON.stringify(good));
    const badLoss = structuredClone(good);
    badLoss.expected.loss *= 1.01;
    fs.writeFileSync(path.join(tmp, 'vicreg-bad-loss.json'), JSON.stringify(badLoss));
    const badGrad = structuredClone(good);
    badGrad.expected.grad.z.data[0] += 1;
    fs.writeFileSync(path.join(tmp, 'vicreg-bad-grad.json'), JSON.stringify(badGrad));
    const r = selfcheck(['--fixtures', tmp, '--json']);
    expect(r.status).toBe(1);
    const rows = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .map((row) => [row.fixture, row]),
    );
    expect(rows['vicreg-good.json'].pass).toBe(true);
    expect(rows['vicreg-bad-loss.json'].pass).toBe(false);
    expect(rows['vicreg-bad-loss.json'].loss_error).toBeGreaterThan(0.009);
    expect(rows['vicreg-bad-grad.json'].pass).toBe(false);
    expect(rows['vicreg-bad-grad.json'].grad_error).toBeGreaterThan(1e-3);
  });

  it('says so when the folder has no fixtures', () => {
    const r = selfcheck(['--fixtures', path.join(tmp, 'none')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no fixture folder/);
  });
});
