// pnpm bench --suite train [--rounds 3] [--steps 10] [--warmup 3] [--threads 2] [--recipe-epochs N] [--recipe-ranks 2] [--json]
// Training throughput, side by side in one run: Cardinal (backend-tfjs on the runtime training
// selects, data-parallel over --threads worker threads where that runtime runs on one, as
// `cardinal train --workers auto` on a machine of that many cores) against PyTorch (Debian's python3-torch) on the same network, batch, optimiser
// (SGD, momentum 0.9) and initial weights, warm-up steps excluded on both sides. Rounds
// alternate the two so that drift of a shared machine falls on both. --recipe-epochs N then
// trains fashion_resnext in PyTorch with the recipe of its shipped weights (python/
// fashion_recipe_peer.py) on Fashion-MNIST for N epochs, for its accuracy beside Cardinal's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ParallelTrainer } from '@cardinal/backend-tfjs/parallel';
import {
  buildFromJson,
  getZooEntry,
  initWeights,
  randomNormal,
  resnetConfigToJson,
  saveWeights,
  summarize,
} from '@cardinal/core';
import { DEBIAN_FASHION_MNIST } from '@cardinal/pretrained';
import Table from 'cli-table3';

const here = dirname(fileURLToPath(import.meta.url));
const PEER = join(here, '..', 'python', 'train_peer.py');
const RECIPE_PEER = join(here, '..', 'python', 'fashion_recipe_peer.py');

const { values } = parseArgs({
  options: {
    suite: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    'recipe-epochs': { type: 'string' },
    'recipe-ranks': { type: 'string', default: '2' },
    json: { type: 'boolean' },
  },
  strict: true,
});
const rounds = Number(values.rounds);
const steps = Number(values.steps);
const warmup = Number(values.warmup);

/** The two networks of the issue: the tiny_resnext fixture config at 32x32, and a 28x28 grayscale one. */
const CASES = [
  {
    name: 'tiny_resnext (fixture config), 3x32x32',
    config: {
      block: 'Bottleneck',
      layers: [2, 1, 1, 1],
      channels: [16, 32, 64, 64],
      cardinality: 8,
      base_width: 16,
      num_classes: 10,
    },
    chw: [3, 32, 32],
    batch: 64,
  },
  {
    name: 'fashion_resnext (the zoo entry), 1x28x28',
    config: resnetConfigToJson(getZooEntry('fashion_resnext').config),
    chw: [1, 28, 28],
    batch: 64,
  },
];

const dir = mkdtempSync(join(tmpdir(), 'cardinal-bench-train-'));
const rows: Record<string, string | number>[] = [];
for (const [k, c] of CASES.entries()) {
  const { graph } = buildFromJson(c.config, { inputShape: [c.batch, ...c.chw] });
  const weights = initWeights(graph, 0);
  const cfgPath = join(dir, `net${k}.json`);
  const wPath = join(dir, `net${k}.safetensors`);
  writeFileSync(cfgPath, JSON.stringify(c.config));
  writeFileSync(wPath, saveWeights(graph, weights));
  const trainer = await ParallelTrainer.create(graph, weights, {
    // As many ranks as PyTorch has threads, where the runtime runs on one thread (wasm, cpu).
    workers: 'auto',
    batchSize: c.batch,
    cores: Number(values.threads),
    optimizer: 'sgd',
    learningRate: 0.01,
    momentum: 0.9,
  });
  const x = randomNormal([c.batch, ...c.chw], 1);
  const labels = Int32Array.from({ length: c.batch }, (_, i) => i % 10);
  const ours: number[] = [];
  const theirs: number[] = [];
  let torchThreads = 0;
  for (let i = 0; i < warmup; i++) await trainer.trainBatch(x, labels);
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await trainer.trainBatch(x, labels);
    ours.push((c.batch * steps * 1000) / (performance.now() - t0));
    const py = spawnSync(
      '/usr/bin/python3',
      [
        PEER,
        cfgPath,
        wPath,
        c.chw.join(','),
        String(c.batch),
        String(steps),
        String(warmup),
        values.threads!,
      ],
      { encoding: 'utf8' },
    );
    if (py.status !== 0) throw new Error(`PyTorch peer failed: ${py.stderr}`);
    const j = JSON.parse(py.stdout) as { images_per_second: number; threads: number };
    theirs.push(j.images_per_second);
    torchThreads = j.threads;
  }
  const runtime = trainer.local.runtime.runtime;
  await trainer.dispose();
  const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
  const s = summarize(graph);
  rows.push({
    network: c.name,
    params: s.params,
    mmacs_per_image: Number((s.macs / c.batch / 1e6).toFixed(1)),
    batch: c.batch,
    cardinal: `tfjs ${runtime}, ${trainer.ranks} thread${trainer.ranks > 1 ? 's (data-parallel)' : ''}`,
    cardinal_img_s: Number(median(ours).toFixed(1)),
    pytorch: `${torchThreads} threads`,
    pytorch_img_s: Number(median(theirs).toFixed(1)),
    ratio: Number((median(ours) / median(theirs)).toFixed(3)),
  });
}
if (values.json) console.log(JSON.stringify(rows));
else {
  const t = new Table({ head: Object.keys(rows[0]!) });
  for (const r of rows) t.push(Object.values(r));
  console.log(t.toString());
}

if (values['recipe-epochs']) {
  // PyTorch's accuracy with the recipe of fashion_resnext's shipped weights (BENCHMARKS.md).
  const cfgPath = join(dir, 'fashion_resnext.json');
  writeFileSync(cfgPath, JSON.stringify(CASES[1]!.config));
  const py = spawnSync(
    '/usr/bin/python3',
    [
      RECIPE_PEER,
      cfgPath,
      DEBIAN_FASHION_MNIST,
      values['recipe-epochs'],
      values.threads!,
      '0',
      values['recipe-ranks']!,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (py.status !== 0) throw new Error('the PyTorch recipe run failed (its error is above)');
  console.log(py.stdout.trim());
}
