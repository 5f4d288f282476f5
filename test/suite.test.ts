import { describe, expect, it } from 'vitest';
import { applyOverrides, loadSuite, resolveSuite, SuiteError } from '../src/runner/suite.js';
import { canonicalJson, expandTrials } from '../src/runner/trials.js';
import { configureMethod } from '../src/runner/trial.js';
import { describeDepartures } from '../src/runner/departures.js';

const minimal = { name: 't', methods: ['simclr'], datasets: ['synthetic'], budgets: ['steps:10'] };

function problems(raw: unknown): string {
  try {
    resolveSuite(raw, 'x.json');
  } catch (e) {
    expect(e).toBeInstanceOf(SuiteError);
    return (e as Error).message;
  }
  throw new Error('the suite was accepted');
}

describe('suite files', () => {
  it('the shipped suites load and resolve with defaults filled in', () => {
    for (const name of ['default', 'fashion', 'paper', 'nightly']) {
      const s = loadSuite(name);
      expect(s.name).toBe(name);
      expect(s.evaluation.fractions[s.evaluation.fractions.length - 1]).toBe(1);
      expect(expandTrials(s).length).toBe(s.methods.length * s.datasets.length * s.budgets.length * s.seeds.length);
    }
    const def = loadSuite('default');
    expect(def.methods.map((m) => m.method).sort()).toEqual([
      'barlow-twins',
      'byol',
      'emp-ssl',
      'mocov2plus',
      'random-init',
      'simclr',
      'supervised',
      'swav',
      'vicreg',
    ]);
    expect(def.evaluation.targetGaps).toEqual([0.25, 0.5, 0.75]);
    expect(loadSuite('fashion').datasets).toEqual([{ name: 'fashion-mnist', backbone: 'resnet-small' }]);
    expect(def.datasets).toEqual([{ name: 'synthetic', backbone: 'resnet-small' }]);
    // A machine-independent budget, so that a newcomer's numbers land inside the published intervals.
    expect(def.budgets[0].kind).toBe('patches');
    expect(def.reference).toBe('emp-ssl');
    for (const name of ['default', 'fashion']) expect(loadSuite(name).seeds.length).toBeGreaterThanOrEqual(3);
    expect(loadSuite('paper').seeds.length).toBeGreaterThanOrEqual(5);
    const paper = loadSuite('paper');
    expect(paper.methods.map((m) => m.label)).toContain('vicreg-x200');
    expect(paper.datasets.find((d) => d.name === 'imagenet100')?.backbone).toBe('resnet18-imagenet');
  });

  it('shape errors name the field and what is wrong, all at once', () => {
    const msg = problems({ ...minimal, seeds: 'three', colour: 'blue', evaluation: { layer: 'head' } });
    expect(msg).toMatch(/suite: unknown field "colour"/);
    expect(msg).toMatch(/suite\.seeds: must be/);
    expect(msg).toMatch(/suite\.evaluation\.layer: must be one of backbone, pre-feature/);
    expect(problems({ ...minimal, methods: [{ method: 'simclr', views: 1 }] })).toMatch(/suite\.methods\[0\]\.views: must be >= 2/);
    expect(problems({ name: 't' })).toMatch(/must have required property 'methods'/);
  });

  it('names are checked against the registries, listing what is valid', () => {
    expect(problems({ ...minimal, methods: ['simclr', 'mocov3'] })).toMatch(/unknown method "mocov3"; valid: emp-ssl, .*swav/);
    expect(problems({ ...minimal, datasets: ['mnist'] })).toMatch(/unknown dataset "mnist"; valid: synthetic, cifar10/);
    expect(problems({ ...minimal, backbone: 'vit-b' })).toMatch(/unknown backbone "vit-b"/);
    expect(problems({ ...minimal, budgets: ['time:soon'] })).toMatch(/malformed time budget "soon"/);
    expect(problems({ ...minimal, methods: ['simclr', { method: 'simclr' }] })).toMatch(/two method entries are labelled "simclr"/);
    expect(problems({ ...minimal, evaluation: { transfer: { synthetic: ['svhn'] } } })).toMatch(/transfer: unknown dataset "svhn"/);
  });

  it("a method's own settings reach the trial, and are refused where the method has no such setting or out of its range", () => {
    expect(problems({ ...minimal, methods: [{ method: 'simclr', lambd: 0.1 }] })).toMatch(
      /simclr: has no setting "lambd"; its own are temperature \(shared: views, /,
    );
    expect(problems({ ...minimal, methods: [{ method: 'simclr', emaStart: 0.9 }] })).toMatch(/simclr: has no setting "emaStart"/);
    expect(problems({ ...minimal, methods: [{ method: 'byol', prototypes: 10 }] })).toMatch(
      /byol: has no setting "prototypes"; its own are emaStart, emaEnd/,
    );
    expect(problems({ ...minimal, methods: [{ method: 'swav', iters: 2.5 }] })).toMatch(/iters: must be integer/);
    expect(problems({ ...minimal, methods: [{ method: 'swav', iters: 50 }] })).toMatch(/iters: must be <= 20/);
    // A name several methods use (temperature) is ranged per method by the resolver, not the schema.
    expect(problems({ ...minimal, methods: [{ method: 'simclr', temperature: 5 }] })).toMatch(
      /simclr: temperature must be a number in \[0.01, 2\], got 5/,
    );
    expect(problems({ ...minimal, methods: [{ method: 'byol', emaStart: 1.5 }] })).toMatch(/byol: emaStart must be a number in \[0, 1\]/);
    expect(problems({ ...minimal, methods: [{ method: 'byol', nonsense: 1 }] })).toMatch(/unknown field "nonsense"/);
    expect(problems({ ...minimal, methods: [{ method: 'byol', cropScale: [0.5, 0.2] }] })).toMatch(
      /cropScale \[0.5,0.2\] must be \[min, max\]/,
    );
    const s = resolveSuite(
      {
        ...minimal,
        methods: [
          { method: 'barlow-twins', lambd: 0.02, cropScale: [0.2, 1] },
          { method: 'byol', emaStart: 0.9, emaEnd: 1, weightDecay: 5e-4, stepScales: { predictor: 10 } },
          { method: 'swav', prototypes: 100, queueStart: 1 },
          { method: 'emp-ssl', batchImages: 16, optimizer: 'sgd' },
        ],
      },
      null,
    );
    const [barlow, byol, emp, swav] = expandTrials(s).map((t) => configureMethod(t, [32, 32, 1]));
    expect(barlow.params).toEqual({ lambd: 0.02, scale_loss: 0.1 });
    expect(barlow.recipe.views.map((v) => v.crop.scale)).toEqual([
      [0.2, 1],
      [0.2, 1],
    ]);
    expect(describeDepartures(s.methods[0])).toContain('large views cropped at 0.2-1 of the area (source 0.08-1)');
    expect(byol.params).toEqual({ emaStart: 0.9, emaEnd: 1 });
    expect(describeDepartures(s.methods[1])).toContain('emaStart 0.9 (source 0.99)');
    expect(byol.optimizer.weightDecay).toBe(5e-4);
    expect(byol.optimizer.stepScales).toEqual({ predictor: 10 });
    expect(describeDepartures(s.methods[1])).toContain('predictor steps x10 (source: one rate for every module)');
    expect(problems({ ...minimal, methods: [{ method: 'simclr', stepScales: { predictor: 10 } }] })).toMatch(
      /simclr: stepScales names "predictor", which this method does not have \(it has backbone, projector\)/,
    );
    expect(describeDepartures(s.methods[1])).toContain('weight decay 0.0005 (source 0.00001)');
    expect(swav.params).toMatchObject({ prototypes: 100, queueSize: 3840, queueStart: 1 });
    expect(emp.optimizer.lr).toBe(0.3); // EMP-SSL's code does not scale its rate with the batch
    expect(emp.optimizer.kind).toBe('sgd');
    expect(byol.optimizer.kind).toBe('lars');
    expect(describeDepartures(s.methods[3])).toContain('optimizer SGD with momentum (source LARS)');
    expect(problems({ ...minimal, methods: [{ method: 'byol', optimizer: 'adam' }] })).toMatch(
      /methods\[0\].optimizer: must be one of lars, sgd/,
    );
  });

  it('a missing or malformed file says which and how to fix it', () => {
    expect(() => loadSuite('nosuch')).toThrow(/not found; shipped suites: .*default.*nightly.*paper/);
    expect(() => loadSuite('/nonexistent/x.json')).toThrow(/not found/);
  });

  it('command-line overrides replace budgets, methods, datasets, seeds and backbone', () => {
    const s = resolveSuite({ ...minimal, amounts: { flops: '1e12' } }, null);
    expect(applyOverrides(s, { budget: 'flops' }).budgets).toEqual([{ kind: 'flops', amount: 1e12 }]);
    expect(applyOverrides(s, { budget: 'time:2m' }).budgets).toEqual([{ kind: 'time', amount: 120 }]);
    expect(() => applyOverrides(s, { budget: 'patches' })).toThrow(/no default amount for a patches budget .*--budget=patches:AMOUNT/);
    expect(() => applyOverrides(s, { budget: 'time:x' })).toThrow(/malformed time budget/);
    expect(() => applyOverrides(s, { methods: ['simclr', 'nope'] })).toThrow(/unknown method "nope"; valid: simclr, emp-ssl/);
    expect(() => applyOverrides(s, { datasets: ['nope'] })).toThrow(/unknown dataset "nope"/);
    expect(() => applyOverrides(s, { backbone: 'nope' })).toThrow(/unknown backbone "nope"/);
    const o = applyOverrides(s, { methods: ['byol'], seeds: 3, backbone: 'resnet18' });
    expect(o.methods).toEqual([{ method: 'byol', label: 'byol' }]);
    expect(o.seeds).toEqual([0, 1, 2]);
    expect(o.datasets[0].backbone).toBe('resnet18');
    // A rerun on fresh seeds keeps the count and shifts them.
    expect(applyOverrides(s, { seeds: 3, firstSeed: 3 }).seeds).toEqual([3, 4, 5]);
    expect(applyOverrides({ ...s, seeds: [0, 2] }, { firstSeed: 10 }).seeds).toEqual([10, 12]);
  });

  it("the findings' reference is EMP-SSL's entry unless the suite names one, and must be a label of the suite", () => {
    const two = { ...minimal, methods: ['simclr', 'emp-ssl'] };
    expect(resolveSuite(minimal, null).reference).toBeNull();
    expect(resolveSuite(two, null).reference).toBe('emp-ssl');
    expect(resolveSuite({ ...two, reference: 'simclr' }, null).reference).toBe('simclr');
    expect(() => resolveSuite({ ...two, reference: 'byol' }, null)).toThrow(/reference "byol" is not a method label/);
    expect(applyOverrides(resolveSuite(two, null), { methods: ['simclr'] }).reference).toBeNull();
  });
});

describe('trial lists', () => {
  const suite = resolveSuite(
    { ...minimal, methods: ['simclr', 'byol', { method: 'vicreg', views: 4 }], budgets: ['steps:10', 'time:1m'], seeds: 2 },
    null,
  );

  it('are sorted, complete and have ids derived from content', () => {
    const trials = expandTrials(suite);
    expect(trials).toHaveLength(3 * 2 * 2);
    expect(new Set(trials.map((t) => t.id)).size).toBe(trials.length);
    expect(trials.map((t) => t.method.label)).toContain('vicreg-x4');
    // The same suite written differently (key order) gives the same list.
    const again = expandTrials(
      resolveSuite(
        {
          seeds: 2,
          budgets: ['steps:10', 'time:60s'],
          datasets: ['synthetic'],
          methods: [{ views: 4, method: 'vicreg' }, 'byol', 'simclr'],
          name: 't',
        },
        null,
      ),
    );
    expect(again.map((t) => t.id)).toEqual(trials.map((t) => t.id));
    // A changed setting changes the id of the trials it touches and no other.
    const changed = expandTrials({
      ...suite,
      seeds: [0, 1],
      methods: suite.methods.map((m) => (m.method === 'byol' ? { ...m, lr: 0.1 } : m)),
    });
    const moved = changed.filter((t) => !trials.some((u) => u.id === t.id));
    expect(moved.every((t) => t.method.method === 'byol')).toBe(true);
    expect(moved).toHaveLength(4);
  });

  it('canonical JSON ignores key order and undefined fields', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] })).toBe('{"a":[{"d":2}],"b":1}');
  });
});
