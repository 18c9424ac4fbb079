import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadWeights, randomNormal, readSafetensors, saveWeights, writeNpy } from '@cardinal/core';
import { buildFixtureGraph, loadFixture, readFixtureWeights } from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { autoRanks, ParallelTrainer } from '../src/parallel.js';
import {
  NESTEROV_ONE_CYCLE,
  strayFromTorch,
  tmp,
  torch,
  torchModel,
  torchOk,
  torchSaveState,
} from './torch-peer.js';

if (!torchOk) console.log("data-parallel tests against PyTorch skipped: Debian's python3-torch is missing");

describe('autoRanks', () => {
  it('one rank per core on the single-threaded runtimes, at least 16 samples each; one on tfjs-node', () => {
    expect(autoRanks('wasm', 64, 2)).toBe(2);
    expect(autoRanks('wasm', 64, 8)).toBe(4);
    expect(autoRanks('cpu', 31, 2)).toBe(1);
    expect(autoRanks('wasm', 8, 2)).toBe(1);
    expect(autoRanks('node', 256, 16)).toBe(1);
    expect(autoRanks('node-gpu', 256, 16)).toBe(1);
  });
});

describe.skipIf(!torchOk)(
  "data-parallel training is PyTorch's DistributedDataParallel without SyncBatchNorm",
  () => {
    it("two ranks, uneven shares (8 + 7): three steps give DDP's weights and rank 0's running statistics, and the replica stays rank 0's", async () => {
      const f = loadFixture('tiny_resnext');
      const { graph } = buildFixtureGraph(f);
      const { weights } = loadWeights(graph, readFixtureWeights(f));
      const x = randomNormal([15, 3, 32, 32], 11);
      const labels = Int32Array.from({ length: 15 }, (_, i) => (i * 7) % 10);
      writeFileSync(join(tmp, 'dp-x.npy'), writeNpy(x));
      const trainer = await ParallelTrainer.create(graph, weights, {
        runtime: 'wasm',
        workers: 2,
        ...NESTEROV_ONE_CYCLE.options,
      });
      let replica: Awaited<ReturnType<ParallelTrainer['replicaWeights']>>;
      let ours: Awaited<ReturnType<ParallelTrainer['weights']>>;
      try {
        expect(trainer.ranks).toBe(2);
        expect(trainer.describe()).toMatch(/data-parallel over 2 threads/);
        for (let i = 0; i < 3; i++) await trainer.trainBatch(x, labels);
        ours = await trainer.weights();
        replica = await trainer.replicaWeights();
        writeFileSync(join(tmp, 'dp-ours.safetensors'), saveWeights(graph, ours));
      } finally {
        await trainer.dispose();
      }
      // Every parameter of the replica equals rank 0's, bit for bit (its running statistics are its own).
      for (const [key, spec] of Object.entries(graph.params))
        if (spec.kind === 'parameter') expect(replica[0]!.get(key)!.data, key).toEqual(ours.get(key)!.data);

      const theirsPath = join(tmp, 'dp-theirs.safetensors');
      torch(`
${torchModel(join(f.dir, 'meta.json'), f.weightsPath, 5e-4)}
${NESTEROV_ONE_CYCLE.torch}
x = torch.from_numpy(np.load('${join(tmp, 'dp-x.npy')}'))
y = torch.tensor([(i * 7) % 10 for i in range(15)])
bns = [mod for mod in m.modules() if isinstance(mod, torch.nn.BatchNorm2d)]
for _ in range(3):
    opt.zero_grad()
    # DDP over two processes: each normalises its share alone, the gradients are averaged
    # (whatever the shares' sizes), and the running statistics are rank 0's.
    loss = 0
    for r, part in enumerate([slice(0, 8), slice(8, 15)]):
        for bn in bns:
            bn.momentum = 0.1 if r == 0 else 0.0
        loss = loss + torch.nn.functional.cross_entropy(m(x[part]), y[part], label_smoothing=smoothing) / 2
    loss.backward()
    opt.step(); sched.step()
${torchSaveState(theirsPath)}
`);
      const theirs = readSafetensors(readFileSync(theirsPath));
      const mine = readSafetensors(readFileSync(join(tmp, 'dp-ours.safetensors')));
      expect(strayFromTorch(mine, theirs, readFixtureWeights(f))).toEqual([]);
    }, 120_000);
  },
);
