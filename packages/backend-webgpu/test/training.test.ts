import {
  GraphBuilder,
  initTestWeights,
  referenceBackend,
  type Tensor,
  type TrainingStep,
  trainingGraph,
  type WeightMap,
} from '@cardinal/core';
import {
  fixturesDir,
  listTrainFixtureDirs,
  loadTrainFixture,
  runTrainFixture,
  timmFixturesDir,
} from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { webgpuBackend } from '../src/index.js';

const availability = await webgpuBackend.isAvailable();
if (!availability.available) console.warn(`skipping WebGPU training tests: ${availability.reason}`);

const dirs = [fixturesDir(), timmFixturesDir()].flatMap((root) => (root ? listTrainFixtureDirs(root) : []));

describe.skipIf(!availability.available)('WebGPU trains: one PyTorch training step per fixture', () => {
  it('finds every training fixture', () => expect(dirs.length).toBeGreaterThanOrEqual(11));
  it.each(dirs)('%s', async (dir) => {
    const { failures } = await runTrainFixture(webgpuBackend, loadTrainFixture(dir));
    expect(failures).toEqual([]);
  });
});

/** |a - b| / |b| in the L2 norm. */
function relL2(a: Tensor, b: Tensor): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.data.length; i++) {
    num += (a.data[i]! - b.data[i]!) ** 2;
    den += b.data[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

/**
 * float32 against the reference's float64: ONNX Runtime's own step on this graph is off by up
 * to 1.1e-4 (relative L2, BatchNorm's first bias); allow a few times that.
 */
function expectSameStep(got: TrainingStep, want: TrainingStep): void {
  expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want.loss)));
  expect(got.grads.size).toBe(want.grads.size);
  for (const [key, g] of want.grads) expect(relL2(got.grads.get(key)!, g), key).toBeLessThan(3e-4);
  for (const [key, r] of want.running) expect(relL2(got.running.get(key)!, r), key).toBeLessThan(1e-5);
}

describe.skipIf(!availability.available)('WebGPU training at sizes past llvmpipe loop budget', () => {
  // 2 x 192 x 192 per channel is 73,728 values, over the ~65,535 loop iterations llvmpipe gives
  // one invocation: BatchNorm's statistics, the stem's weight gradient and the bias sums are
  // split into partial sums (REDUCE_CHUNK), and must still equal the reference executor.
  const b = new GraphBuilder('long-reductions');
  let x = b.input('x', [2, 3, 192, 192]);
  x = b.relu(b.batchNorm(b.conv2d(x, 'conv1', { outChannels: 4, kernel: 3, padding: 1 }), 'bn1'));
  x = b.maxPool(x, { kernel: 3, stride: 2, padding: 1 });
  x = b.conv2d(x, 'conv2', { outChannels: 8, kernel: 3, stride: 2, padding: 1, groups: 2 });
  x = b.relu(b.batchNorm(x, 'bn2'));
  b.output(b.linear(b.flatten(b.globalAvgPool(x)), 'fc', 5));
  const graph = b.build();
  const weights = initTestWeights(graph, 7);
  const training = trainingGraph(graph, { loss: { kind: 'crossEntropy' } });
  const input: Tensor = {
    shape: [2, 3, 192, 192],
    data: Float32Array.from({ length: 2 * 3 * 192 * 192 }, (_, i) => Math.sin(i * 0.37) + 0.1),
  };
  const targets: Tensor = { shape: [2, 5], data: Float32Array.from([0, 0, 1, 0, 0, 0, 0, 0, 0, 1]) };
  const feeds = { x: input, [training.lossInput]: targets };

  it('a step equals the reference executor, and so does the next one after setWeights', async () => {
    const gpu = await webgpuBackend.compileTraining!(training, weights);
    const ref = await referenceBackend.compileTraining!(training, weights);
    try {
      const want = await ref.step(feeds);
      expectSameStep(await gpu.step(feeds), want);
      // An SGD step on every parameter: the kernels must read the new values.
      const update: WeightMap = new Map();
      for (const [key, g] of want.grads) {
        const w = weights.get(key)!;
        update.set(key, { shape: w.shape, data: w.data.map((v, i) => v - 0.5 * g.data[i]!) });
      }
      for (const [key, r] of want.running) update.set(key, r);
      gpu.setWeights(update);
      ref.setWeights(update);
      const want2 = await ref.step(feeds);
      expect(Math.abs(want2.loss - want.loss)).toBeGreaterThan(1e-3);
      expectSameStep(await gpu.step(feeds), want2);
    } finally {
      gpu.dispose();
      ref.dispose();
    }
  }, 120_000);
});

describe.skipIf(!availability.available)('GroupNorm past llvmpipe loop budget, forward and backward', () => {
  // Two groups of 32 channels at 56x56: 100,352 values per group, so every group statistic is
  // a two-level sum (codegen/group-norm.ts).
  const b = new GraphBuilder('wide-groups');
  const x0 = b.input('x', [1, 64, 56, 56]);
  b.output(b.linear(b.flatten(b.globalAvgPool(b.relu(b.groupNorm(x0, 'gn', 2)))), 'fc', 5));
  const graph = b.build();
  const weights = initTestWeights(graph, 3);
  const x: Tensor = {
    shape: [1, 64, 56, 56],
    data: Float32Array.from({ length: 64 * 56 * 56 }, (_, i) => Math.cos(i * 0.11) * 2 + 0.5),
  };

  it('inference equals the reference executor', async () => {
    const exe = await webgpuBackend.compile(graph, weights);
    try {
      const got = (await exe.run({ x }))[graph.outputs[0]!]!;
      const want = (await (await referenceBackend.compile(graph, weights)).run({ x }))[graph.outputs[0]!]!;
      expect(relL2(got, want)).toBeLessThan(1e-5);
    } finally {
      exe.dispose();
    }
  }, 60_000);

  it('a training step equals the reference executor', async () => {
    const training = trainingGraph(graph, { loss: { kind: 'crossEntropy' } });
    const feeds = { x, [training.lossInput]: { shape: [1, 5], data: Float32Array.from([0, 1, 0, 0, 0]) } };
    const gpu = await webgpuBackend.compileTraining!(training, weights);
    const ref = await referenceBackend.compileTraining!(training, weights);
    try {
      expectSameStep(await gpu.step(feeds), await ref.step(feeds));
    } finally {
      gpu.dispose();
      ref.dispose();
    }
  }, 60_000);
});
