import { describe, expect, it } from 'vitest';
import {
  bottleneck,
  GraphBuilder,
  initWeights,
  maxAbsDiff,
  runReference,
  summarize,
  type WeightMap,
} from '../src/index.js';
import { randomInput, randomiseBatchNorm } from './helpers.js';
import { convertFormAToB, convertFormBToC, resnextFormGraph } from './resnext-forms.js';

describe('the three equivalent forms of the ResNeXt block', () => {
  it('have the paper-tutorial parameter counts (256 in, cardinality 32, width 4, bias on the 3x3)', () => {
    expect(summarize(resnextFormGraph('A')).params).toBe(87_168);
    expect(summarize(resnextFormGraph('B')).params).toBe(71_296);
    expect(summarize(resnextFormGraph('C')).params).toBe(71_296);
  });

  it('form C without the 3x3 bias equals torchvision Bottleneck(256, 64, groups=32, base_width=4)', () => {
    expect(summarize(resnextFormGraph('C', { bias3x3: false })).params).toBe(71_168);
    const b = new GraphBuilder('tv');
    const x = b.input('input', [1, 256, 8, 8]);
    b.output(bottleneck(b, x, { inplanes: 256, planes: 64, cardinality: 32, baseWidth: 4 }));
    expect(summarize(b.build()).params).toBe(71_168);
  });

  it('A -> B -> C weight conversion gives the same output (max abs diff < 1e-5)', () => {
    const shape = [2, 256, 7, 9];
    const gA = resnextFormGraph('A', {}, shape);
    const gB = resnextFormGraph('B', {}, shape);
    const gC = resnextFormGraph('C', {}, shape);
    const wA: WeightMap = randomiseBatchNorm(gA, initWeights(gA, 7), 11);
    const wB = convertFormAToB(wA);
    const wC = convertFormBToC(wB);
    const input = { input: randomInput(shape, 3) };
    const yA = runReference(gA, wA, input)[gA.outputs[0]!]!;
    const yB = runReference(gB, wB, input)[gB.outputs[0]!]!;
    const yC = runReference(gC, wC, input)[gC.outputs[0]!]!;
    // The outputs are not trivially equal to zero or to the input.
    expect(Math.max(...yA.data.map(Math.abs))).toBeGreaterThan(0.5);
    expect(maxAbsDiff(yA, yB)).toBeLessThan(1e-5);
    expect(maxAbsDiff(yB, yC)).toBeLessThan(1e-5);
    expect(maxAbsDiff(yA, yC)).toBeLessThan(1e-5);
  });
});
