/**
 * Metric names: metricKey makes each kind src/eval/evaluate.ts (and the transfer evaluation) writes, with the
 * same spelling as the rows on disk, and parseMetricKey reads every one back to the same parts.
 */
import { describe, expect, it } from 'vitest';
import {
  accuracyKey,
  type MetricParts,
  metricKey,
  parseMetricKey,
  parseProtocol,
  type Protocol,
  protocolName,
} from '../src/results/metric_keys.js';

/** Every kind of key, with its name as results.jsonl spells it. */
const KINDS: [MetricParts, string][] = [
  [{ protocol: 'single', probe: 'linear', stat: 'test' }, 'linear'],
  [{ protocol: 'single', probe: 'linear', stat: 'val' }, 'linear_val'],
  [{ protocol: 'single', probe: 'linear', stat: 'wd' }, 'linear_wd'],
  [{ protocol: 'single', probe: 'knn', k: 20 }, 'knn20'],
  [{ protocol: 'single', probe: 'knn', k: 200 }, 'knn200'],
  [{ protocol: 'bag', patches: 16, probe: 'linear', stat: 'mean' }, 'bag16_linear_mean'],
  [{ protocol: 'bag', patches: 16, probe: 'linear', stat: 'std' }, 'bag16_linear_std'],
  [{ protocol: 'bag', patches: 2, probe: 'linear', stat: 'wd' }, 'bag2_linear_wd'],
  [{ protocol: 'bag', patches: 128, probe: 'knn', k: 20, stat: 'mean' }, 'bag128_knn20_mean'],
  [{ protocol: 'bag', patches: 1, probe: 'knn', k: 5, stat: 'std' }, 'bag1_knn5_std'],
  [{ protocol: 'authors', probe: 'linear', stat: 'mean' }, 'authors_linear_mean'],
  [{ protocol: 'authors', probe: 'linear', stat: 'std' }, 'authors_linear_std'],
  [{ protocol: 'authors', probe: 'linear', stat: 'wd' }, 'authors_linear_wd'],
  [{ protocol: 'authors', probe: 'knn', k: 20, stat: 'mean' }, 'authors_knn20_mean'],
  [{ protocol: 'authors', probe: 'knn', k: 20, stat: 'std' }, 'authors_knn20_std'],
];

describe('metric keys', () => {
  it('makes every kind of key as the rows spell it, and parses each back to the same parts', () => {
    for (const [parts, key] of KINDS) {
      expect(metricKey(parts)).toBe(key);
      expect(parseMetricKey(key)).toStrictEqual(parts);
    }
  });

  it('a transfer dataset prefixes any key, and is read back (a dot in its name included)', () => {
    for (const dataset of ['synthetic', 'cifar-100', 'stl10.unlabeled']) {
      for (const [parts, key] of KINDS) {
        const transfer = { ...parts, transfer: dataset } as MetricParts;
        expect(metricKey(transfer)).toBe(`transfer.${dataset}.${key}`);
        expect(parseMetricKey(`transfer.${dataset}.${key}`)).toStrictEqual(transfer);
      }
    }
  });

  it('reads names it does not make as null, and refuses to make impossible ones', () => {
    for (const key of [
      'loss',
      'linear_test',
      'knn',
      'knn020',
      'knn0',
      'bag_linear_mean',
      'bag0_linear_mean',
      'bag16_linear',
      'bag16_knn20_wd',
      'single_linear_mean',
      'authors_linear_val',
      'transfer.linear',
      'transfer..linear',
      'transfer.a b.linear',
      'transfer.synthetic.bogus',
      'Linear',
    ])
      expect(parseMetricKey(key), key).toBeNull();
    expect(() => metricKey({ protocol: 'single', probe: 'knn', k: 0 })).toThrow(/k must be a positive integer, got 0/);
    expect(() => metricKey({ protocol: 'bag', patches: 1.5, probe: 'linear', stat: 'mean' })).toThrow(/patches must be a positive integer/);
    expect(() => metricKey({ protocol: 'single', probe: 'linear', stat: 'test', transfer: '' })).toThrow(/transfer dataset's name/);
  });

  it("names protocols as test costs and --protocol do, and gives each protocol's headline accuracy", () => {
    const protocols: [Protocol, string][] = [
      [{ protocol: 'single' }, 'single'],
      [{ protocol: 'bag', patches: 16 }, 'bag16'],
      [{ protocol: 'authors' }, 'authors'],
    ];
    for (const [p, name] of protocols) {
      expect(protocolName(p)).toBe(name);
      expect(parseProtocol(name)).toStrictEqual(p);
    }
    for (const bad of ['bag', 'bag0', 'bag-2', 'Single', 'bag16 ']) expect(parseProtocol(bad), bad).toBeNull();
    expect(accuracyKey({ protocol: 'single' }, { probe: 'linear' })).toBe('linear');
    expect(accuracyKey({ protocol: 'single' }, { probe: 'knn', k: 20 })).toBe('knn20');
    expect(accuracyKey({ protocol: 'bag', patches: 2 }, { probe: 'linear' })).toBe('bag2_linear_mean');
    expect(accuracyKey({ protocol: 'authors' }, { probe: 'knn', k: 20 })).toBe('authors_knn20_mean');
    expect(accuracyKey({ protocol: 'single' }, { probe: 'knn', k: 20 }, 'synthetic')).toBe('transfer.synthetic.knn20');
  });
});
