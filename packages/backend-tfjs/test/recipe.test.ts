import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  learningRateAt,
  loadWeights,
  randomNormal,
  readSafetensors,
  saveWeights,
  writeNpy,
} from '@cardinal/core';
import { buildFixtureGraph, loadFixture, readFixtureWeights } from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { Trainer, type TrainerOptions } from '../src/index.js';
import {
  NESTEROV_ONE_CYCLE,
  strayFromTorch,
  tmp,
  torch,
  torchModel,
  torchOk,
  torchSaveState,
} from './torch-peer.js';

if (!torchOk) console.log("recipe tests skipped: Debian's python3-torch is missing");

describe.skipIf(!torchOk)("the training recipe against PyTorch's optimisers and schedulers", () => {
  it("learningRateAt equals torch's OneCycleLR and CosineAnnealingLR, step by step", () => {
    const out = JSON.parse(
      torch(`
p = [torch.nn.Parameter(torch.zeros(1))]
o = torch.optim.SGD(p, lr=0.2)
s = torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.2, total_steps=20, pct_start=5/20, anneal_strategy='cos', cycle_momentum=False)
one = []
for _ in range(20):
    one.append(o.param_groups[0]['lr']); o.step(); s.step()
o = torch.optim.SGD(p, lr=0.1)
s = torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=12, eta_min=0.001)
cos = []
for _ in range(12):
    cos.append(o.param_groups[0]['lr']); o.step(); s.step()
print(json.dumps({'one': one, 'cos': cos}))
`),
    ) as { one: number[]; cos: number[] };
    for (const [s, lr] of out.one.entries())
      expect(learningRateAt({ kind: 'onecycle', base: 0.2, totalSteps: 20, warmupSteps: 4 }, s)).toBeCloseTo(
        lr,
        12,
      );
    for (const [s, lr] of out.cos.entries())
      expect(learningRateAt({ kind: 'cosine', base: 0.1, totalSteps: 12, min: 0.001 }, s)).toBeCloseTo(
        lr,
        12,
      );
  });

  const recipes: [string, TrainerOptions, string][] = [
    [
      'plain SGD',
      { optimizer: 'sgd', momentum: 0, learningRate: 0.001 },
      `opt = torch.optim.SGD(groups, lr=0.001)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
smoothing = 0.0`,
    ],
    [
      'SGD, Nesterov momentum, weight decay skipping BatchNorm and biases, one-cycle, label smoothing',
      NESTEROV_ONE_CYCLE.options,
      NESTEROV_ONE_CYCLE.torch,
    ],
    [
      'AdamW, decoupled weight decay skipping BatchNorm and biases, cosine',
      {
        optimizer: 'adamw',
        weightDecay: 0.05,
        decay: 'weights',
        schedule: { kind: 'cosine', base: 0.003, totalSteps: 4, min: 1e-4 },
      },
      `opt = torch.optim.AdamW(groups, lr=0.003)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=1e-4)
smoothing = 0.0`,
    ],
  ];

  it.each(recipes)(
    "%s: three steps give PyTorch's weights and running statistics",
    async (_name, options, setup) => {
      const f = loadFixture('tiny_resnext');
      const { graph } = buildFixtureGraph(f);
      const { weights } = loadWeights(graph, readFixtureWeights(f));
      // Sixteen samples: BatchNorm over two (the fixture's batch) is too ill-conditioned to follow step by step.
      const x = randomNormal([16, 3, 32, 32], 7);
      const labels = Int32Array.from({ length: 16 }, (_, i) => (i * 3) % 10);
      writeFileSync(join(tmp, 'x.npy'), writeNpy(x));
      const trainer = await Trainer.create(graph, weights, { runtime: 'wasm', ...options });
      try {
        for (let i = 0; i < 3; i++) await trainer.trainBatch(x, labels);
        writeFileSync(join(tmp, 'ours.safetensors'), saveWeights(graph, await trainer.weights()));
      } finally {
        trainer.dispose();
      }
      const theirsPath = join(tmp, 'theirs.safetensors');
      const wd = options.weightDecay ?? 0;
      torch(`
${torchModel(join(f.dir, 'meta.json'), f.weightsPath, wd)}
${setup}
x = torch.from_numpy(np.load('${join(tmp, 'x.npy')}'))
y = torch.tensor([(i * 3) % 10 for i in range(16)])
for _ in range(3):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(m(x), y, label_smoothing=smoothing).backward()
    opt.step(); sched.step()
${torchSaveState(theirsPath)}
`);
      const ours = readSafetensors(readFileSync(join(tmp, 'ours.safetensors')));
      const theirs = readSafetensors(readFileSync(theirsPath));
      expect(strayFromTorch(ours, theirs, readFixtureWeights(f))).toEqual([]);
    },
    120_000,
  );
});
