import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onnxBackend } from '@cardinal/backend-onnx';
import { randomNormal, readSafetensors } from '@cardinal/core';
import { fixturesDir, loadTrainFixture } from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { GraphTrainer, type GraphTrainerOptions, TorchOptimizer } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const torchOk = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!torchOk) console.log('skipped: Debian python3-torch is not installed (apt install python3-torch)');

/** The state_dict after `steps` of PyTorch's optimiser on the same batch, from the same weights. */
function torchSteps(
  fixture: string,
  x: Float32Array,
  labels: Int32Array,
  o: GraphTrainerOptions,
  steps: number,
) {
  const dir = mkdtempSync(join(tmpdir(), 'cardinal-torch-steps-'));
  writeFileSync(join(dir, 'x.bin'), x);
  const opt = {
    name: o.optimizer,
    lr: o.learningRate,
    momentum: o.momentum ?? 0,
    nesterov: o.nesterov ?? false,
    weight_decay: o.weightDecay ?? 0,
    betas: o.betas ?? [0.9, 0.999],
    eps: o.eps ?? 1e-8,
    label_smoothing: o.labelSmoothing ?? 0,
  };
  const r = spawnSync(
    '/usr/bin/python3',
    [
      join(here, 'torch_steps.py'),
      fixture,
      join(dir, 'x.bin'),
      [...labels].join(','),
      JSON.stringify(opt),
      String(steps),
      join(dir, 'out.safetensors'),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  return readSafetensors(readFileSync(join(dir, 'out.safetensors')));
}

const CASES: [string, GraphTrainerOptions][] = [
  ['SGD, momentum, weight decay', { optimizer: 'sgd', learningRate: 0.02, momentum: 0.9, weightDecay: 0.05 }],
  ['SGD, Nesterov momentum', { optimizer: 'sgd', learningRate: 0.02, momentum: 0.9, nesterov: true }],
  [
    'AdamW, label smoothing',
    { optimizer: 'adamw', learningRate: 3e-3, weightDecay: 0.05, labelSmoothing: 0.1 },
  ],
  ['Adam with L2 weight decay', { optimizer: 'adam', learningRate: 3e-3, weightDecay: 0.05 }],
];

describe.skipIf(!torchOk)('TorchOptimizer is torch.optim, update for update (no network: no kinks)', () => {
  it.each(CASES)('%s', (_name, o) => {
    const size = 257;
    const param = randomNormal([size], 11).data;
    const grads = [12, 13, 14, 15].map((s) => randomNormal([size], s).data);
    const opt = {
      name: o.optimizer,
      lr: o.learningRate,
      momentum: o.momentum ?? 0,
      nesterov: o.nesterov ?? false,
      weight_decay: o.weightDecay ?? 0,
      betas: [0.9, 0.999],
      eps: 1e-8,
    };
    const r = spawnSync('/usr/bin/python3', [join(here, 'torch_optim.py')], {
      input: JSON.stringify({ opt, param: [...param], grads: grads.map((g) => [...g]) }),
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(r.stderr);
    const expected = JSON.parse(r.stdout) as number[][];
    const optimizer = new TorchOptimizer({
      name: o.optimizer!,
      momentum: o.momentum ?? 0,
      nesterov: o.nesterov ?? false,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: o.weightDecay ?? 0,
      noDecay: new Set(),
    });
    const p = Float32Array.from(param);
    grads.forEach((g, step) => {
      optimizer.step(new Map([['p', p]]), new Map([['p', { shape: [size], data: g }]]), o.learningRate!);
      let worst = 0;
      for (let i = 0; i < size; i++)
        worst = Math.max(
          worst,
          Math.abs(p[i]! - expected[step]![i]!) / Math.max(1, Math.abs(expected[step]![i]!)),
        );
      // float32 rounding of a few operations in another order: a few ulps.
      expect(worst, `step ${step + 1}`).toBeLessThan(1e-6);
    });
  });
});

describe.skipIf(!torchOk)("GraphTrainer takes PyTorch's steps (tiny_resnext, 3 steps of batch 32)", () => {
  const dir = join(fixturesDir(), 'tiny_resnext');
  it.skipIf(!existsSync(dir)).each(CASES)(
    '%s',
    async (_name, options) => {
      const f = loadTrainFixture(dir);
      // A batch of 32: a flipped ReLU kink moves one sample's share of a step, a quarter of batch 8's.
      const x = randomNormal([32, ...f.meta.input_shape.slice(1)], 5);
      const labels = Int32Array.from({ length: 32 }, (_, i) => (i * 3) % 10);
      const expected = torchSteps(dir, x.data, labels, options, 3);
      // ONNX Runtime (the reference executor's gradients are the fixture tests'; it is slow at 32).
      for (const backend of [onnxBackend]) {
        const trainer = await GraphTrainer.create(backend, f.graph, f.weights, {
          ...options,
          compile: { threads: 1 },
        });
        for (let i = 0; i < 3; i++) await trainer.trainBatch(x, labels);
        const got = await trainer.weights();
        // Each tensor's update (after - before) against PyTorch's, by relative L2: elementwise
        // bounds would trip on ReLU kinks, which move single gradients of a batch of 8 a lot.
        const worst: string[] = [];
        let largest = 0;
        for (const [key, ref] of expected) {
          if (key.endsWith('num_batches_tracked')) {
            expect(got.get(key)!.data[0], key).toBe(Number(ref.data[0]));
            continue;
          }
          const v = got.get(key)!.data;
          const start = f.weights.get(key)!.data;
          let num = 0;
          let den = 0;
          for (let i = 0; i < v.length; i++) {
            num += (v[i]! - ref.data[i]!) ** 2;
            den += (ref.data[i]! - start[i]!) ** 2;
          }
          const rel = Math.sqrt(num / Math.max(den, 1e-30));
          largest = Math.max(largest, rel);
          // Kinks flipped by another summation order move a batch of 8's steps by up to a few percent.
          if (rel > 0.05) worst.push(`${backend.name} ${key}: ${rel.toExponential(2)}`);
        }
        console.log(_name, backend.name, 'worst relative L2 of an update', largest.toExponential(2));
        await trainer.dispose();
        expect(worst).toEqual([]);
      }
    },
    120_000,
  );
});
