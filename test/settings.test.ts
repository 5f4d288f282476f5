/**
 * The settings tables (methods/settings.ts, each method's `settings`): one declaration per setting, a default in
 * its valid range, a departure reason exactly where the default is not the source's value, search ranges inside
 * the valid range, and the generated schema on disk current.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getMethod, METHODS } from '../methods/registry.js';
import { applySettings, describeEntry, SHARED_SETTINGS, searchSpace } from '../methods/settings.js';
import { currentMethodEntrySchema, SUITES_DIR } from '../src/runner/suite.js';

const methods = Object.keys(METHODS).map((name) => getMethod(name));

describe('settings tables', () => {
  it.each(methods.map((m) => [m.name, m] as const))('%s: defaults in range, departures stated exactly where they differ', (_, m) => {
    for (const [name, s] of Object.entries(m.settings)) {
      expect(name in SHARED_SETTINGS, `${m.name}.${name} shadows a shared setting`).toBe(false);
      expect(s.default, `${m.name}.${name}`).toBeGreaterThanOrEqual(s.min);
      expect(s.default, `${m.name}.${name}`).toBeLessThanOrEqual(s.max);
      if (s.integer) expect(Number.isInteger(s.default)).toBe(true);
      const differs = s.source !== null && Math.abs(s.default - s.source) > 1e-12 * Math.max(1, Math.abs(s.source));
      expect(Boolean(s.departs), `${m.name}.${name}: departs ${s.departs ? 'given' : 'missing'}`).toBe(differs);
      expect(m.params[name]).toBe(s.default);
    }
    for (const [name, range] of Object.entries(searchSpace(m))) {
      const own = m.settings[name];
      if (!own) continue;
      const values = 'choices' in range ? (range.choices as number[]) : [range.min, range.max];
      for (const v of values) expect(v >= own.min && v <= own.max, `${m.name}.${name} searches ${v}`).toBe(true);
    }
  });

  it('an entry applies each setting once, in order: batch scales the rate unless the rate is given', () => {
    const simclr = getMethod('simclr');
    expect(applySettings(simclr, { method: 'simclr', label: 's', batchImages: 64 }).optimizer.lr).toBeCloseTo(0.1, 12);
    expect(applySettings(simclr, { method: 'simclr', label: 's', batchImages: 64, lr: 0.5 }).optimizer.lr).toBe(0.5);
    const swav = applySettings(getMethod('swav'), { method: 'swav', label: 's', temperature: 0.3, queueStart: 1 });
    expect(swav.params).toMatchObject({ temperature: 0.3, queueStart: 1, eps: 0.05 });
    const lines = describeEntry({ method: 'swav', label: 's', temperature: 0.3 }, getMethod('swav'), getMethod('swav'));
    expect(lines).toContain('temperature 0.3 (source 0.1)');
  });

  it('bench/suites/method-entry.schema.json is what the tables make (npm run schema)', () => {
    const onDisk = JSON.parse(fs.readFileSync(path.join(SUITES_DIR, 'method-entry.schema.json'), 'utf8'));
    expect(onDisk).toEqual(currentMethodEntrySchema());
  });

  it('every tuned method declares a search space beyond the shared one (the tuner draws from it)', () => {
    for (const m of methods.filter((x) => x.role === 'ssl')) expect(Object.keys(searchSpace(m)), m.name).toContain('lr');
  });
});
