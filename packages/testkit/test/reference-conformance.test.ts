import { referenceBackend } from '@cardinal/core';
import { describe, expect, it } from 'vitest';
import { conformanceCases, loadFixture, runFixture } from '../src/index.js';

describe('reference executor reproduces every PyTorch fixture', () => {
  it.each(conformanceCases())('%s', async (name) => {
    const r = await runFixture(referenceBackend, loadFixture(name));
    expect(r.shapeMatches).toBe(true);
    expect(r.maxAbsDiff, `${name}: max |diff| ${r.maxAbsDiff} vs atol ${r.atol}`).toBeLessThanOrEqual(r.atol);
    for (const m of r.features)
      expect(
        m.maxAbsDiff,
        `${name} ${m.key}: max |diff| ${m.maxAbsDiff} vs atol ${m.atol}`,
      ).toBeLessThanOrEqual(m.atol);
  });
});
