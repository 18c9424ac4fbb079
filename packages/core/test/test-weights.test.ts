import { describe, expect, it } from 'vitest';
import {
  createModel,
  initTestWeights,
  initWeights,
  maxAbsDiff,
  runReference,
  type Tensor,
  topK,
} from '../src/index.js';
import { randomInput } from './helpers.js';

// The five families differ only inside their residual blocks; an initialisation that zeroes the
// last BatchNorm of each block (timm's zero_init_last) makes every block an identity.
const FAMILY = ['resnet50', 'resnext50_32x4d', 'seresnext50_32x4d', 'skresnext50_32x4d', 'resnest50d'];
const SHAPE = [1, 3, 32, 32];

function outputOf(name: string, init: typeof initWeights): Tensor {
  const graph = createModel(name, { inputShape: SHAPE });
  return runReference(graph, init(graph, 0), { input: randomInput(SHAPE, 1) })[graph.outputs[0]!]!;
}

describe('initTestWeights', () => {
  it('makes every family member give its own output (pairwise different)', () => {
    const outs = FAMILY.map((n) => outputOf(n, initTestWeights));
    for (let i = 0; i < outs.length; i++) {
      expect(outs[i]!.data.every(Number.isFinite), FAMILY[i]).toBe(true);
      for (let j = i + 1; j < outs.length; j++) {
        const scale = Math.max(...outs[i]!.data.map(Math.abs));
        // Far apart relative to the logits' size, not a rounding difference.
        expect(maxAbsDiff(outs[i]!, outs[j]!), `${FAMILY[i]} vs ${FAMILY[j]}`).toBeGreaterThan(0.05 * scale);
      }
    }
  }, 120_000);

  it('where the training init makes ResNet-50, ResNeXt-50 and SE-ResNeXt-50 identical', () => {
    const [a, b, c] = ['resnet50', 'resnext50_32x4d', 'seresnext50_32x4d'].map((n) =>
      outputOf(n, initWeights),
    );
    expect(maxAbsDiff(a!, b!)).toBe(0);
    expect(maxAbsDiff(a!, c!)).toBe(0);
  }, 120_000);

  it('randomises every BatchNorm and leaves the rest as initWeights makes it', () => {
    const graph = createModel('resnet18', { inputShape: [1, 3, 32, 32] });
    const test = initTestWeights(graph, 3);
    const train = initWeights(graph, 3);
    for (const node of graph.nodes.filter((n) => n.op === 'batchNorm')) {
      const w = test.get(node.params.weight!)!.data;
      const v = test.get(node.params.running_var!)!.data;
      expect(Math.min(...w)).toBeGreaterThanOrEqual(0.5);
      expect(Math.max(...w)).toBeLessThan(1.5);
      expect(Math.min(...v)).toBeGreaterThanOrEqual(0.6);
      expect(new Set(w).size).toBeGreaterThan(1);
    }
    expect(test.get('layer1.0.conv1.weight')!.data).toEqual(train.get('layer1.0.conv1.weight')!.data);
    // Deterministic per seed.
    expect(initTestWeights(graph, 3).get('layer1.0.bn2.running_mean')!.data).toEqual(
      test.get('layer1.0.bn2.running_mean')!.data,
    );
  });
});

describe('topK with NaN and Inf', () => {
  it('puts NaN after every number and keeps infinities in order', () => {
    const t = {
      shape: [1, 5],
      data: new Float32Array([1, Number.NaN, 3, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]),
    };
    expect(topK(t, 5)[0]!.map((r) => r.index)).toEqual([4, 2, 0, 3, 1]);
  });
});
