import { conformanceCases, loadFixture, runFixture } from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { onnxBackend } from '../src/index.js';

describe('onnx backend reproduces every PyTorch fixture (BatchNorm folded)', () => {
  it.each(conformanceCases())('%s', async (name) => {
    const r = await runFixture(onnxBackend, loadFixture(name), {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
    });
    expect(r.shapeMatches).toBe(true);
    expect(r.maxAbsDiff, `${name}: max |diff| ${r.maxAbsDiff} vs atol ${r.atol}`).toBeLessThanOrEqual(r.atol);
    for (const m of r.features)
      expect(
        m.maxAbsDiff,
        `${name} ${m.key}: max |diff| ${m.maxAbsDiff} vs atol ${m.atol}`,
      ).toBeLessThanOrEqual(m.atol);
  });
});

describe('onnx backend with BatchNorm kept as BatchNormalization', () => {
  it.each(conformanceCases('shared'))('%s', async (name) => {
    const r = await runFixture(onnxBackend, loadFixture(name), {
      foldBatchNorm: false,
      executionProviders: ['cpu'],
    });
    expect(r.maxAbsDiff).toBeLessThanOrEqual(r.atol);
  });
});
