import { GraphBuilder, initTestWeights, mulberry32, runReference, type Tensor } from '@cardinal/core';
import { compareToExpected, conformanceCases, loadFixture, runFixture } from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { type ConvStrategy, tfjsBackend } from '../src/index.js';

const rng = mulberry32;

const STRATEGIES: ConvStrategy[] = ['slices', 'expand', 'gemm', 'blockdiag', 'depthwise'];

describe('grouped convolution lowerings equal the reference conv', () => {
  const r = rng(7);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const cases = Array.from({ length: 24 }, (_, i) => {
    const groups = pick([2, 4, 8]);
    const depthwise = i % 4 === 0;
    const cinG = depthwise ? 1 : pick([1, 2, 3]);
    const coutG = pick([1, 2, 4]);
    const k = pick([1, 3, 5]);
    return {
      cin: groups * cinG,
      cout: groups * coutG,
      groups,
      k,
      stride: pick([1, 2]),
      dilation: k > 1 ? pick([1, 2]) : 1,
      pad: [pick([0, 1, 2]), pick([0, 1]), pick([0, 1, 2]), pick([0, 2])] as [number, number, number, number],
      h: pick([9, 12, 13]),
      w: pick([9, 11, 14]),
      bias: r() < 0.5,
    };
  });

  it.each(cases)('%o', async (c) => {
    const b = new GraphBuilder('conv');
    const x = b.input('input', [2, c.cin, c.h, c.w]);
    b.output(
      b.conv2d(x, 'conv', {
        outChannels: c.cout,
        kernel: c.k,
        stride: c.stride,
        dilation: c.dilation,
        padding: c.pad,
        groups: c.groups,
        bias: c.bias,
      }),
    );
    const g = b.build();
    const w = initTestWeights(g, 3);
    const input: Tensor = {
      shape: [2, c.cin, c.h, c.w],
      data: Float32Array.from({ length: 2 * c.cin * c.h * c.w }, () => r() * 2 - 1),
    };
    const expected = runReference(g, w, { input })[g.outputs[0]!]!;
    for (const convStrategy of STRATEGIES) {
      if (convStrategy === 'depthwise' && c.cin !== c.groups) continue;
      const exe = await tfjsBackend.compile(g, w, { runtime: 'wasm', convStrategy });
      const y = (await exe.run({ input }))[g.outputs[0]!]!;
      exe.dispose();
      expect(compareToExpected(y, expected, 1e-4).maxAbsDiff, convStrategy).toBeLessThanOrEqual(1e-4);
    }
  });
});

describe.each(['slices', 'blockdiag'] as const)(
  'every fixture with the %s lowering forced',
  (convStrategy) => {
    it.each(conformanceCases('shared'))('%s', async (name) => {
      const res = await runFixture(tfjsBackend, loadFixture(name), { runtime: 'wasm', convStrategy });
      expect(res.maxAbsDiff).toBeLessThanOrEqual(res.atol);
    });
  },
);
