import { conformanceCases, loadFixture, runFixture } from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { webgpuBackend } from '../src/index.js';

const availability = await webgpuBackend.isAvailable();
if (!availability.available) console.warn(`skipping WebGPU conformance in Node: ${availability.reason}`);

describe.skipIf(!availability.available)(
  'webgpu backend in Node (Dawn) reproduces every PyTorch fixture',
  () => {
    it.each(conformanceCases())('%s', async (name) => {
      const r = await runFixture(webgpuBackend, loadFixture(name));
      expect(r.shapeMatches).toBe(true);
      expect(r.maxAbsDiff, `${name}: max |diff| ${r.maxAbsDiff} vs atol ${r.atol}`).toBeLessThanOrEqual(
        r.atol,
      );
      for (const m of r.features)
        expect(
          m.maxAbsDiff,
          `${name} ${m.key}: max |diff| ${m.maxAbsDiff} vs atol ${m.atol}`,
        ).toBeLessThanOrEqual(m.atol);
    });
  },
);
