import { describe, expect, it } from 'vitest';
import { forwardCost, trainingFlops } from '../engine/flops.js';
import { mlpHead } from '../engine/nn/mlp.js';
import { countParams } from '../engine/nn/params.js';
import { makeBackbone } from '../engine/nn/resnet.js';
import { readFixture } from './requirements.js';

interface ReferenceEntry {
  input?: number[];
  params: number;
  macs_per_image: number;
  feature_dim?: number;
  layers?: { layer: string; kind: string; out: number[]; macs: number }[];
}

const reference = readFixture<Record<string, ReferenceEntry | string>>('flops.json');
const backboneKeys = Object.keys(reference).filter((k) => k.includes('@'));

describe('FLOP and parameter accounting against flops.json', () => {
  it('covers every backbone entry of the reference', () => {
    expect(backboneKeys.length).toBeGreaterThanOrEqual(6);
  });

  it.each(backboneKeys)('%s', (key) => {
    const ref = reference[key] as ReferenceEntry;
    const [name, res] = key.split('@');
    const spec = name.endsWith('-cifar') ? name : `${name}-imagenet`;
    const backbone = makeBackbone(spec);
    const [c, h, w] = ref.input!;
    expect(Number(res)).toBe(h);
    const cost = forwardCost([backbone], [h, w, c]);
    expect(cost.macs).toBe(ref.macs_per_image);
    expect(countParams([backbone])).toBe(ref.params);
    expect(backbone.featureDim).toBe(ref.feature_dim);
    // Layer by layer, same names, kinds, output shapes and MACs as torchvision.
    const byName = new Map(cost.layers.map((l) => [l.layer, l]));
    for (const layer of ref.layers!) {
      expect(byName.get(layer.layer), layer.layer).toEqual(layer);
    }
    expect(cost.layers.length).toBe(ref.layers!.length);
  });

  it('EMP-SSL projector 512-4096-4096-1024', () => {
    const ref = reference['emp-ssl-projector 512-4096-4096-1024'] as ReferenceEntry;
    const head = mlpHead('projector', [512, 4096, 4096, 1024]);
    expect(forwardCost([head], [512]).macs).toBe(ref.macs_per_image);
    expect(countParams([head])).toBe(ref.params);
  });

  it('applies the training rule: 3x back-propagated, 1x forward-only, plus loss', () => {
    expect(trainingFlops({ backprop: [{ flopsPerCrop: 10, crops: 4 }], forwardOnly: [{ flopsPerCrop: 5, crops: 2 }], lossFlops: 7 })).toBe(
      3 * 40 + 10 + 7,
    );
  });
});
