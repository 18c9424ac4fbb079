import { conformanceCases, loadFixture, runFixture } from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { tfjsBackend } from '../src/index.js';

describe.each(['wasm', 'cpu'] as const)('tfjs backend on %s reproduces every PyTorch fixture', (runtime) => {
  it.each(conformanceCases())('%s', async (name) => {
    const r = await runFixture(tfjsBackend, loadFixture(name), { runtime });
    expect(r.shapeMatches).toBe(true);
    expect(r.maxAbsDiff, `${name}: max |diff| ${r.maxAbsDiff} vs atol ${r.atol}`).toBeLessThanOrEqual(r.atol);
    for (const m of r.features)
      expect(
        m.maxAbsDiff,
        `${name} ${m.key}: max |diff| ${m.maxAbsDiff} vs atol ${m.atol}`,
      ).toBeLessThanOrEqual(m.atol);
  });
});
