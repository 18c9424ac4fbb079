import { createModel, initWeights, mulberry32, permutation, type TrainData } from '@cardinal/core';
import { describe, expect, it } from 'vitest';
import { FitStopped, fit, Trainer } from '../src/index.js';

// 192 learnable 1x28x28 images: class k is a bright k-th horizontal band over noise.
const N = 192;
const images = new Float32Array(N * 784);
const labels = Int32Array.from({ length: N }, (_, i) => i % 4);
const noise = mulberry32(7);
for (let i = 0; i < N; i++)
  for (let p = 0; p < 784; p++) {
    const row = Math.floor(p / 28);
    images[i * 784 + p] = noise() * 0.5 + (Math.floor(row / 7) === labels[i] ? 1 : 0);
  }
const batchOf = (idx: Int32Array) => ({
  shape: [idx.length, 1, 28, 28],
  data: Float32Array.from(
    { length: idx.length * 784 },
    (_, j) => images[idx[Math.floor(j / 784)]! * 784 + (j % 784)]!,
  ),
  labels: Int32Array.from(idx, (i) => labels[i]!),
});
const data: TrainData = {
  count: N,
  classes: ['0', '1', '2', '3'],
  shape: [1, 28, 28],
  // A seeded "augmentation": the seed shifts the brightness, so a batch made with another seed
  // would change the weights.
  train: (idx, seed) => {
    const b = batchOf(idx);
    const shift = (mulberry32(seed)() - 0.5) * 0.1;
    for (let j = 0; j < b.data.length; j++) b.data[j]! += shift;
    return b;
  },
  eval: batchOf,
};
const order = permutation(N, 0);
const split = { trainIndices: order.subarray(32), valIndices: order.subarray(0, 32) };
const graph = createModel('fashion_resnext', { inputShape: [32, 1, 28, 28], numClasses: 4 });
const options = {
  optimizer: 'sgd' as const,
  learningRate: 0.05,
  momentum: 0.9,
  nesterov: true,
  runtime: 'wasm' as const,
};

describe('fit: the epoch loop as a library function', () => {
  it('trains: the loss falls and the held-out accuracy is far above chance', async () => {
    const trainer = await Trainer.create(graph, initWeights(graph, 0), options);
    try {
      const rows = await fit(trainer, data, { epochs: 4, batchSize: 32, seed: 1, ...split });
      expect(rows.map((r) => r.epoch)).toEqual([1, 2, 3, 4]);
      expect(rows[3]!.loss).toBeLessThan(rows[0]!.loss);
      expect(rows[3]!.valAccuracy).toBeGreaterThan(0.6);
    } finally {
      trainer.dispose();
    }
  }, 120_000);

  it('stops between steps on request, and a run resumed after epoch 1 ends with the weights of the uninterrupted run, bit for bit', async () => {
    const whole = await Trainer.create(graph, initWeights(graph, 0), options);
    await fit(whole, data, { epochs: 2, batchSize: 32, seed: 3, ...split });
    const want = await whole.weights();
    whole.dispose();

    const first = await Trainer.create(graph, initWeights(graph, 0), options);
    let steps = 0;
    await expect(
      fit(first, data, {
        epochs: 2,
        batchSize: 32,
        seed: 3,
        ...split,
        onEpoch: () => {
          steps = 0;
        },
        onStep: () => {
          steps++;
        },
        stopRequested: () => (steps === 2 ? 'SIGTERM' : undefined),
      }),
    ).rejects.toSatisfy((e) => e instanceof FitStopped && e.reason === 'SIGTERM' && e.epoch === 1);
    first.dispose();

    // Epoch 1 alone, then a new trainer from its weights and optimiser state.
    const a = await Trainer.create(graph, initWeights(graph, 0), options);
    await fit(a, data, { epochs: 1, batchSize: 32, seed: 3, ...split });
    const b = await Trainer.create(graph, await a.weights(), options);
    b.restoreOptimizerState(await a.optimizerState());
    a.dispose();
    await fit(b, data, { epochs: 2, firstEpoch: 2, batchSize: 32, seed: 3, ...split });
    const got = await b.weights();
    b.dispose();
    const bytes = (t: { data: Float32Array }) =>
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    for (const [k, t] of want) expect(bytes(got.get(k)!).equals(bytes(t)), k).toBe(true);
  }, 120_000);
});
