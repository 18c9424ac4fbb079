import { describe, expect, it } from 'vitest';
import {
  buildFromJson,
  CostError,
  checkTensorCost,
  createModel,
  DEFAULT_COST_LIMITS,
  NO_COST_LIMITS,
  parseGraph,
  serializeGraph,
  ZOO,
} from '../src/index.js';

describe('cost limits', () => {
  it('admit every zoo model at 224 with batch 64 (but the one above 2^28 parameters), and resnext101_32x8d at 448', () => {
    // timm's resnext101_32x32d has 469M parameters: it asks for larger limits, by name.
    expect(() => createModel('resnext101_32x32d')).toThrowError(/too large: .* parameters/);
    for (const e of ZOO.filter((z) => z.name !== 'resnext101_32x32d'))
      expect(
        () => createModel(e.name, { inputShape: [64, e.config.inChans ?? 3, 224, 224] }),
        e.name,
      ).not.toThrow();
    expect(() => createModel('resnext101_32x8d', { inputShape: [1, 3, 448, 448] })).not.toThrow();
  }, 60_000);

  it('refuse a hundredfold beyond, at once', () => {
    const t0 = performance.now();
    // 100x the batch of the admitted case.
    expect(() => createModel('resnext101_32x8d', { inputShape: [6400, 3, 224, 224] })).toThrowError(
      CostError,
    );
    expect(() => createModel('resnet50', { inputShape: [1, 3, 22400, 22400] })).toThrowError(CostError);
    // 3.3e18 parameters: CONFIG_LIMITS' extremes.
    const huge = { block: 'Bottleneck', layers: Array(8).fill(256), channels: Array(8).fill(65536) };
    expect(() => buildFromJson(huge, { source: 'huge.json' })).toThrowError(/huge\.json|too large/);
    expect(() => buildFromJson(huge, { source: 'huge.json' })).toThrowError(CostError);
    // A deep stem and stages 4096 wide: billions of parameters, refused before any weight exists.
    const stem = {
      block: 'Bottleneck',
      layers: [3, 4, 6, 3],
      channels: [4096, 4096, 4096, 4096],
      stem_width: 4096,
      stem_type: 'deep',
    };
    expect(() => buildFromJson(stem)).toThrowError(/parameters .* exceed the limit/);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('can be lifted, and bound tensors a caller is about to allocate', () => {
    const stem = { block: 'Bottleneck', layers: [1, 1, 1, 1], stem_width: 4096, stem_type: 'deep' };
    expect(() => buildFromJson(stem, { limits: NO_COST_LIMITS })).not.toThrow();
    expect(() => checkTensorCost('x', [1, 3, 100_000, 100_000])).toThrowError(
      /x: too large: shape \[1, 3, 100000, 100000\]/,
    );
    expect(() => checkTensorCost('x', [0, 3, 100_000, 100_000])).toThrowError(CostError);
    expect(() => checkTensorCost('x', [64, 3, 224, 224])).not.toThrow();
    expect(DEFAULT_COST_LIMITS.maxParams).toBeLessThan(100 * 115e6);
  });

  it('apply to graph documents too', () => {
    const doc = JSON.parse(serializeGraph(createModel('resnet18', { inputShape: [1, 3, 32, 32] })));
    expect(() => parseGraph(JSON.stringify(doc))).not.toThrow();
    // The same document claiming a 2^31-wide classifier: valid shapes, refused for its cost.
    const g = doc.graph as {
      params: Record<string, { shape: number[] }>;
      tensors: Record<string, { shape: number[] }>;
      nodes: { op: string; attrs: Record<string, unknown> }[];
    };
    g.params['fc.weight']!.shape = [2 ** 31, 512];
    g.params['fc.bias']!.shape = [2 ** 31];
    g.tensors.fc!.shape = [1, 2 ** 31];
    g.nodes.find((n) => n.op === 'linear')!.attrs.outFeatures = 2 ** 31;
    expect(() => parseGraph(JSON.stringify(doc))).toThrowError(/too large/);
  });
});
