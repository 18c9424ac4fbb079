import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

const PYTHON = '/usr/bin/python3';
const torchOk = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!torchOk) console.log("recipe tests skipped: Debian's python3-torch is missing");
const replica = join(import.meta.dirname, '..', '..', '..', 'tools', 'conformance', 'python');
const tmp = mkdtempSync(join(tmpdir(), 'cardinal-recipe-'));

function torch(script: string): string {
  const r = spawnSync(
    PYTHON,
    ['-c', `import sys, json, torch, numpy as np\nsys.path.insert(0, '${replica}')\n${script}`],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

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
      {
        optimizer: 'sgd',
        momentum: 0.9,
        nesterov: true,
        weightDecay: 5e-4,
        decay: 'weights',
        schedule: { kind: 'onecycle', base: 0.01, totalSteps: 4, warmupSteps: 1 },
        labelSmoothing: 0.1,
      },
      `opt = torch.optim.SGD(groups, lr=0.01, momentum=0.9, nesterov=True)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=4, pct_start=2/4, anneal_strategy='cos', cycle_momentum=False)
smoothing = 0.1`,
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
from timm_replica import read_safetensors, build
meta = json.load(open('${join(f.dir, 'meta.json')}'))
sd = read_safetensors('${f.weightsPath}')
m = build(meta, sd); m.load_state_dict(sd); m.train()
no_decay = set()
for name, mod in m.named_modules():
    if isinstance(mod, torch.nn.BatchNorm2d):
        no_decay |= {name + '.weight', name + '.bias'}
named = dict(m.named_parameters())
no_decay |= {k for k in named if k.endswith('.bias')}
groups = [{'params': [p for k, p in named.items() if k not in no_decay], 'weight_decay': ${wd}},
          {'params': [p for k, p in named.items() if k in no_decay], 'weight_decay': 0.0}]
${setup}
x = torch.from_numpy(np.load('${join(tmp, 'x.npy')}'))
y = torch.tensor([(i * 3) % 10 for i in range(16)])
for _ in range(3):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(m(x), y, label_smoothing=smoothing).backward()
    opt.step(); sched.step()
out = {k: v.detach().contiguous().numpy().astype(np.float32) for k, v in m.state_dict().items() if v.dtype == torch.float32}
blob = b''.join(v.tobytes() for v in out.values())
offs, hdr = 0, {}
for k, v in out.items():
    hdr[k] = {'dtype': 'F32', 'shape': list(v.shape), 'data_offsets': [offs, offs + v.nbytes]}; offs += v.nbytes
h = json.dumps(hdr).encode(); h += b' ' * (-len(h) % 8)
open('${theirsPath}', 'wb').write(len(h).to_bytes(8, 'little') + h + blob)
`);
      const ours = readSafetensors(readFileSync(join(tmp, 'ours.safetensors')));
      const theirs = readSafetensors(readFileSync(theirsPath));
      // Every element within 2e-4 of the tensor's scale; or, where Adam's normalisation turned
      // float noise in a near-zero gradient into a full step of either sign, the difference at
      // most 2% of the update's size (L2).
      const initial = readFixtureWeights(f);
      const moved: string[] = [];
      for (const [key, t] of theirs) {
        const o = ours.get(key)!;
        const w0 = initial.get(key)!.data;
        const scale = Math.max(1e-3, ...Array.from(t.data as Float32Array, Math.abs));
        let [d, diff2, update2] = [0, 0, 0];
        for (let i = 0; i < t.data.length; i++) {
          const e = Number(o.data[i]) - Number(t.data[i]);
          d = Math.max(d, Math.abs(e));
          diff2 += e * e;
          update2 += (Number(t.data[i]) - Number(w0[i])) ** 2;
        }
        const rel = Math.sqrt(diff2 / Math.max(update2, 1e-30));
        if (d > 2e-4 * scale && rel > 0.02)
          moved.push(
            `${key}: max |diff| ${d.toExponential(2)} (scale ${scale.toFixed(3)}), ${(100 * rel).toFixed(1)}% of the update`,
          );
      }
      expect(moved).toEqual([]);
    },
    120_000,
  );
});
