import {
  type Graph,
  GraphBuilder,
  initTestWeights,
  mulberry32,
  randomNormal,
  runReference,
  type SymbolicTensor,
  type WeightMap,
} from '@cardinal/core';
import { describe, expect, it } from 'vitest';
import { compileWebGpu, webgpuBackend } from '../src/index.js';

const availability = await webgpuBackend.isAvailable();
if (!availability.available) console.warn(`skipping WebGPU random-graph tests: ${availability.reason}`);

/**
 * Small graphs of random ops and shapes: grouped, strided, dilated and padded convs over odd
 * and non-square inputs, pooling in both modes, broadcast adds and muls, activations,
 * splits, concats, transposes, softmax, BatchNorm kept or folded, and a linear head.
 */
function randomGraph(seed: number): { graph: Graph; weights: WeightMap } {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const b = new GraphBuilder(`random-${seed}`);
  const n = pick([1, 2]);
  let c = pick([3, 4, 6, 8, 12]);
  let h = pick([5, 7, 9, 11, 13, 16]);
  let w = pick([5, 6, 9, 12, 15]);
  let x: SymbolicTensor = b.input('x', [n, c, h, w]);
  const divisors = (v: number) => [1, 2, 3, 4, 6, 8, 12, 16].filter((g) => v % g === 0);
  const steps = 3 + Math.floor(rnd() * 4);
  for (let i = 0; i < steps; i++) {
    const kind = pick(['conv', 'conv', 'conv', 'pool', 'se', 'split', 'bn', 'transpose']);
    if (kind === 'conv') {
      const k = pick([1, 1, 3, 3, 5]);
      const groups = pick(divisors(c));
      const outC = groups * pick([1, 2, 3, 4, 8]);
      const stride = pick([1, 1, 2]);
      const dilation = k > 1 ? pick([1, 1, 2]) : 1;
      const span = dilation * (k - 1) + 1;
      if (span > h + 2 || span > w + 2) continue;
      const pad = pick([0, Math.floor(span / 2)]);
      if (h + 2 * pad < span || w + 2 * pad < span) continue;
      const y = b.conv2d(x, `conv${i}`, {
        outChannels: outC,
        kernel: k,
        stride,
        padding: pad,
        dilation,
        groups,
        bias: rnd() < 0.5,
      });
      const act = pick(['relu', 'sigmoid', 'none', 'bnrelu']);
      const shapeOut = y.shape;
      let z = y;
      if (act === 'bnrelu') z = b.relu(b.batchNorm(y, `bn${i}`));
      else if (act === 'relu') z = b.relu(y);
      else if (act === 'sigmoid') z = b.sigmoid(y);
      // A residual when the shape allows it, as in a bottleneck.
      if (shapeOut.every((d, j) => d === x.shape[j]) && rnd() < 0.6) z = b.relu(b.add(z, x));
      x = z;
      [, c, h, w] = shapeOut as [number, number, number, number];
    } else if (kind === 'pool' && h >= 3 && w >= 3) {
      const k = pick([2, 3]);
      const o = { kernel: k, stride: pick([1, 2]), padding: pick([0, 1]), ceilMode: rnd() < 0.5 };
      if (o.padding * 2 > k) continue;
      x = rnd() < 0.5 ? b.maxPool(x, o) : b.avgPool(x, { ...o, countIncludePad: rnd() < 0.5 });
      [, c, h, w] = x.shape as [number, number, number, number];
    } else if (kind === 'se') {
      const s = b.sigmoid(b.conv2d(b.globalAvgPool(x), `fc${i}`, { outChannels: c, kernel: 1, bias: true }));
      x = rnd() < 0.5 ? b.mul(x, s) : b.mul(s, x);
    } else if (kind === 'split' && c % 2 === 0) {
      const [p, q] = b.split(x, [c / 2, c / 2], 1);
      x = rnd() < 0.5 ? b.concat([b.relu(q!), p!], 1) : b.add(p!, q!);
      [, c, h, w] = x.shape as [number, number, number, number];
    } else if (kind === 'bn') {
      x = b.batchNorm(b.relu(x), `norm${i}`);
    } else if (kind === 'transpose' && c % 2 === 0) {
      // The radix softmax of split attention: view, swap, softmax, view back.
      let r = b.reshape(x, [0, 2, c / 2, -1]);
      r = b.transpose(r, [0, 2, 1, 3]);
      r = b.softmax(r, 1);
      x = b.reshape(r, [0, c, h, w]);
    }
  }
  if (rnd() < 0.5) x = b.linear(b.flatten(b.globalAvgPool(x)), 'head', pick([3, 5, 10]));
  b.output(x);
  const graph = b.build();
  const weights = initTestWeights(graph, seed);
  // Non-trivial BatchNorm statistics so folding is exercised.
  for (const [k, t] of weights) {
    if (k.endsWith('running_var')) for (let i = 0; i < t.data.length; i++) t.data[i] = 0.5 + rnd();
    if (k.endsWith('running_mean') || (k.endsWith('.bias') && k.includes('bn')))
      for (let i = 0; i < t.data.length; i++) t.data[i] = rnd() - 0.5;
  }
  return { graph, weights };
}

describe.skipIf(!availability.available)('random graphs: webgpu equals the reference executor', () => {
  it.each(Array.from({ length: 40 }, (_, i) => 1000 + i))('seed %i', async (seed) => {
    const { graph, weights } = randomGraph(seed);
    const spec = graph.inputs[0]!;
    const x = randomNormal(spec.shape, seed);
    const want = runReference(graph, weights, { [spec.name]: x })[graph.outputs[0]!]!;
    const exe = await compileWebGpu(graph, weights);
    try {
      const got = (await exe.run({ [spec.name]: x }))[graph.outputs[0]!]!;
      expect(got.shape).toEqual(want.shape);
      const scale = Math.max(1, ...Array.from(want.data, Math.abs));
      let worst = 0;
      for (let i = 0; i < want.data.length; i++)
        worst = Math.max(worst, Math.abs(got.data[i]! - want.data[i]!));
      const ops = [...new Set(graph.nodes.map((nd) => nd.op))].join(',');
      expect(worst, `seed ${seed} (${ops}, input ${spec.shape}): max |diff| ${worst}`).toBeLessThanOrEqual(
        1e-4 * scale,
      );
    } finally {
      exe.dispose();
    }
  });
});
