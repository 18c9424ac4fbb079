import { describe, expect, it } from 'vitest';
import {
  createModel,
  GraphBuilder,
  initWeights,
  loadWeights,
  maxAbsDiff,
  readSafetensors,
  saveWeights,
  WeightLoadError,
} from '../src/index.js';

function tinyGraph() {
  const b = new GraphBuilder('tiny');
  let x = b.input('input', [1, 3, 8, 8]);
  x = b.conv2d(x, 'conv1', { outChannels: 4, kernel: 3, padding: 1 });
  x = b.batchNorm(x, 'bn1');
  b.output(x);
  return b.build();
}

describe('loadWeights', () => {
  it('names every missing, unexpected and mis-shaped key', () => {
    const g = tinyGraph();
    const tensors = new Map([
      ['conv1.weight', { shape: [4, 3, 5, 5], data: new Float32Array(300) }],
      ['bn1.weight', { shape: [4], data: new Float32Array(4) }],
      ['bn1.bias', { shape: [4], data: new Float32Array(4) }],
      ['bn1.running_mean', { shape: [4], data: new Float32Array(4) }],
      ['fc.weight', { shape: [10, 4], data: new Float32Array(40) }],
    ]);
    let error: WeightLoadError | undefined;
    try {
      loadWeights(g, tensors, { source: 'w.safetensors' });
    } catch (e) {
      error = e as WeightLoadError;
    }
    expect(error).toBeInstanceOf(WeightLoadError);
    expect(error!.report).toEqual({
      missing: ['bn1.running_var'],
      unexpected: ['fc.weight'],
      mismatched: [{ key: 'conv1.weight', expected: [4, 3, 3, 3], got: [4, 3, 5, 5] }],
    });
    expect(error!.message).toBe(
      'w.safetensors: weights do not match the graph: 1 missing: bn1.running_var; 1 unexpected: fc.weight; ' +
        '1 mis-shaped: conv1.weight (expected [4, 3, 3, 3], got [4, 3, 5, 5])',
    );
  });

  it('non-strict loading reports without throwing and initialises what is missing', () => {
    const g = tinyGraph();
    const { weights, report } = loadWeights(g, new Map(), { strict: false });
    expect(report.missing).toEqual([
      'conv1.weight',
      'bn1.weight',
      'bn1.bias',
      'bn1.running_mean',
      'bn1.running_var',
    ]);
    expect([...weights.get('bn1.running_var')!.data]).toEqual([1, 1, 1, 1]);
  });

  it('accepts an absent num_batches_tracked and round-trips a whole model through safetensors', () => {
    const g = createModel('resnet18', { inputShape: [1, 3, 64, 64], numClasses: 10 });
    const w = initWeights(g, 3);
    const bytes = saveWeights(g, w);
    const back = readSafetensors(bytes);
    expect(back.get('bn1.num_batches_tracked')!.dtype).toBe('I64');
    expect([...back.keys()]).toEqual(Object.keys(g.params));
    const { weights } = loadWeights(g, back);
    expect(maxAbsDiff(weights.get('layer4.1.conv2.weight')!, w.get('layer4.1.conv2.weight')!)).toBe(0);
    back.delete('bn1.num_batches_tracked');
    expect(() => loadWeights(g, back)).not.toThrow();
  });

  it('initialises deterministically: conv Kaiming normal (fan_out), BN weight 1 and bias 0', () => {
    const g = createModel('resnet18', { inputShape: [1, 3, 64, 64] });
    const a = initWeights(g);
    const b = initWeights(g);
    expect(maxAbsDiff(a.get('conv1.weight')!, b.get('conv1.weight')!)).toBe(0);
    const w = a.get('layer3.0.conv1.weight')!.data; // [256, 128, 3, 3]: std sqrt(2 / (256 * 9))
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeCloseTo(Math.sqrt(2 / (256 * 9)), 3);
    expect([...a.get('bn1.weight')!.data].every((v) => v === 1)).toBe(true);
    expect([...a.get('bn1.bias')!.data].every((v) => v === 0)).toBe(true);
    // timm's zero_init_last: the last BN of each residual branch starts at 0.
    expect([...a.get('layer1.0.bn2.weight')!.data].every((v) => v === 0)).toBe(true);
  });
});
