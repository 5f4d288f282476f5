/**
 * The report's figures and protocols from rows alone: protocols found through the metric keys, rows read under
 * a protocol, and captions that name the settings the rows hold (and no other).
 */
import { describe, expect, it } from 'vitest';
import { resultRow as row } from './helpers.js';
import { buildFigures, listed, protocolFigures } from '../reports/figures.js';
import { describeProtocol, protocolsOf, underProtocol } from '../reports/protocols.js';
import type { ResultRow } from '../src/results/rows.js';

const cost = (protocol: string, patches: number) => ({
  protocol,
  patches,
  flops_per_image: 1e6 * patches,
  latency_ms_batch1: 1,
  images_per_second: 100,
  throughput_batch_crops: 4,
});

/** Two settings: one with two crops per image, one with eight patches and its authors' protocol. */
function rows(): ResultRow[] {
  return [
    row({
      label: 'alpha',
      final: true,
      point: 1,
      metrics: { linear: 0.6, knn20: 0.5, bag4_linear_mean: 0.7, bag4_linear_std: 0.01, 'transfer.other.bag64_linear_mean': 0.1 },
      test_cost: [cost('single', 1), cost('bag4', 4)],
    }),
    row({
      label: 'beta-x8',
      trial_id: 't2',
      batch_images: 2,
      crops_per_step: 16,
      final: true,
      point: 1,
      metrics: {
        linear: 0.4,
        knn20: 0.3,
        bag4_linear_mean: 0.5,
        bag4_linear_std: 0.02,
        authors_linear_mean: 0.55,
        authors_knn20_mean: 0.45,
      },
      test_cost: [cost('single', 1), cost('bag4', 4), cost('authors', 8)],
    }),
    row({ label: 'floor', trial_id: 't3', method: 'random-init', role: 'floor', final: true, point: 1 }),
  ];
}

describe('protocols from metric keys', () => {
  it("finds single, each bag size and authors on the trials' own dataset (a transfer key is not a protocol)", () => {
    expect(protocolsOf(rows())).toEqual(['single', 'bag4', 'authors']);
  });

  it('reads rows under a protocol: its accuracies as linear and knn20, absent where a row has none', () => {
    const [a, b] = underProtocol(rows(), 'authors');
    expect(a.metrics.linear).toBeUndefined();
    expect(a.metrics.knn20).toBeUndefined();
    expect(a.metrics.bag4_linear_mean).toBe(0.7);
    expect(b.metrics.linear).toBe(0.55);
    expect(b.metrics.knn20).toBe(0.45);
    expect(underProtocol(rows(), 'bag4').map((r) => r.metrics.linear)).toEqual([0.7, 0.5, undefined]);
    expect(underProtocol(rows(), 'single')).toEqual(rows());
    expect(describeProtocol(rows(), 'bag4')).toBe('bag4: mean of 4 patches, 4 MFLOP per test image');
  });
});

describe('captions from the rows', () => {
  it('lists names', () => {
    expect(listed([])).toBe('');
    expect(listed(['b', 'a', 'b'])).toBe('a and b');
    expect(listed(['c', 'a', 'b'])).toBe('a, b and c');
    expect(listed(['e', 'd', 'c', 'b', 'a'], 2)).toBe('a, b and 3 more');
  });

  it('the multi-crop figure names the settings it draws and the references', () => {
    const figure = buildFigures(rows(), {}).find((f) => f.name === 'multi-crop-baselines')!;
    expect(figure.critique).toBe(
      'Tuned settings with many views, multi-crop or many patches on the same axes: beta-x8, with the references floor.',
    );
    expect(figure.spec.title).toBe('More than two crops per image: beta-x8');
    const none = buildFigures(
      rows().filter((r) => r.label !== 'beta-x8'),
      {},
    ).find((f) => f.name === 'multi-crop-baselines')!;
    expect(none.critique).toBe('No setting in these runs trains on more than two crops of each image: the references floor only.');
  });

  it("the test-time cost caption names the bag sizes and whose authors' protocol averages patches", () => {
    const figure = buildFigures(rows(), {}).find((f) => f.name === 'test-time-cost')!;
    expect(figure.critique).toBe(
      "Averaging many patches per test image (bags of 4 patches for every method; the authors' own protocols of beta-x8 (8 patches)) " +
        "multiplies the test-time cost: each protocol's cost beside its accuracy, every protocol's probe trained and tested on the same images (the single view on the bags' images).",
    );
    const single = rows().map((r) => ({ ...r, test_cost: r.test_cost?.filter((t) => t.protocol === 'single') }));
    expect(buildFigures(single, {}).find((f) => f.name === 'test-time-cost')!.critique).toMatch(
      /^Every protocol measured here takes one view/,
    );
  });

  it("the protocol figures say the bag's size, or whose authors' protocol they draw", () => {
    const bag = protocolFigures(underProtocol(rows(), 'bag4'), {}, 'bag4', 'bag4: mean of 4 patches');
    expect(bag[0].critique).toMatch(
      /^Time to target when each test image is the mean feature of 4 patches, the same patches for every method/,
    );
    const authors = protocolFigures(underProtocol(rows(), 'authors'), {}, 'authors', 'authors');
    expect(authors[0].critique).toMatch(/^Time to target under the authors' own protocols of beta-x8 \(/);
    expect(authors[1].critique).toBe("The accuracy curves of beta-x8 under their authors' own protocols.");
  });

  it('the evaluation-variance figure reads each bag size from the keys', () => {
    const figure = buildFigures(rows(), {}).find((f) => f.name === 'evaluation-variance')!;
    const values = (figure.spec.data as { values: { method: string; patches: string; mean: number; lo: number }[] }).values;
    expect(values.map((v) => [v.method, v.patches, v.mean])).toEqual([
      ['alpha', '4 patches', 0.7],
      ['beta-x8', '4 patches', 0.5],
    ]);
    expect(values[0].lo).toBeCloseTo(0.69, 12);
  });
});
