// pnpm bench --suite train [--backend onnx,webgpu,tfjs] [--network tiny_resnext,fashion_resnext[,resnext50_32x4d]]
//                         [--rounds 3] [--steps 10] [--warmup 3] [--threads 2] [--recipe-epochs N] [--recipe-ranks 2] [--json]
// Training throughput, side by side in one run: Cardinal on each backend that trains (onnx and
// webgpu through @cardinal/train's GraphTrainer over the IR's training graph, as `cardinal train
// --backend`; tfjs data-parallel over --threads worker threads where its runtime runs on one,
// as `cardinal train --backend tfjs --workers auto`) against PyTorch (Debian's python3-torch) on
// the same network, batch, optimiser (SGD, momentum 0.9, lr 0.01) and initial weights, warm-up
// steps excluded on both sides. Rounds alternate the subjects so that drift of a shared machine
// falls on all of them; medians of the rounds. resnext50_32x4d is a fine-tuning row: 224x224,
// batch 16, 10 classes, everything but layer4 and fc frozen on both sides. --recipe-epochs N
// then trains fashion_resnext in PyTorch with the recipe of its shipped weights
// (python/fashion_recipe_peer.py) on Fashion-MNIST for N epochs, for its accuracy.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { onnxBackend } from '@cardinal/backend-onnx';
import { ParallelTrainer } from '@cardinal/backend-tfjs/parallel';
import { webgpuBackend } from '@cardinal/backend-webgpu';
import {
  type Backend,
  buildFromJson,
  getZooEntry,
  initWeights,
  randomNormal,
  resnetConfigToJson,
  saveWeights,
  summarize,
} from '@cardinal/core';
import { DEBIAN_FASHION_MNIST } from '@cardinal/pretrained';
import { type BatchTrainer, GraphTrainer } from '@cardinal/train';
import Table from 'cli-table3';

const here = dirname(fileURLToPath(import.meta.url));
const PEER = join(here, '..', 'python', 'train_peer.py');
const RECIPE_PEER = join(here, '..', 'python', 'fashion_recipe_peer.py');

// Dawn last: its device stays for the process once made.
const BACKENDS = ['onnx', 'tfjs', 'webgpu'] as const;
type BackendName = (typeof BACKENDS)[number];

const { values } = parseArgs({
  options: {
    suite: { type: 'string' },
    backend: { type: 'string', default: BACKENDS.join(',') },
    network: { type: 'string', default: 'tiny_resnext,fashion_resnext' },
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
const threads = Number(values.threads);

function fail(message: string): never {
  console.error(`bench --suite train: ${message}`);
  process.exit(2);
}

const backends = values.backend!.split(',').map((b) => {
  const found = BACKENDS.find((k) => k === b);
  return found ?? fail(`unknown --backend '${b}' (known: ${BACKENDS.join(', ')})`);
});

interface Case {
  network: string;
  config: object;
  chw: [number, number, number];
  batch: number;
  /** Module paths frozen on both sides (a fine-tuning row). */
  freeze: string[];
}

/** The networks: the tiny_resnext fixture config at 32x32, fashion_resnext, resnext50 fine-tuning. */
const CASES: Record<string, Case> = {
  tiny_resnext: {
    network: 'tiny_resnext',
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
    freeze: [],
  },
  fashion_resnext: {
    network: 'fashion_resnext',
    config: resnetConfigToJson(getZooEntry('fashion_resnext').config),
    chw: [1, 28, 28],
    batch: 64,
    freeze: [],
  },
  resnext50_32x4d: {
    network: 'resnext50_32x4d',
    config: { ...resnetConfigToJson(getZooEntry('resnext50_32x4d').config), num_classes: 10 },
    chw: [3, 224, 224],
    batch: 16,
    freeze: ['conv1', 'bn1', 'layer1', 'layer2', 'layer3'],
  },
};
const cases = values
  .network!.split(',')
  .map((n) => CASES[n] ?? fail(`unknown --network '${n}' (known: ${Object.keys(CASES).join(', ')})`));

const GRAPH_BACKENDS: Record<'onnx' | 'webgpu', Backend> = { onnx: onnxBackend, webgpu: webgpuBackend };

/** Cardinal's trainer on one backend, with a description of what runs it. */
async function trainerFor(
  name: BackendName,
  c: Case,
  graph: Parameters<typeof GraphTrainer.create>[1],
  weights: Parameters<typeof GraphTrainer.create>[2],
): Promise<{ trainer: BatchTrainer; runs: string } | { skip: string }> {
  const common = { optimizer: 'sgd' as const, learningRate: 0.01, momentum: 0.9, freeze: c.freeze };
  if (name === 'tfjs') {
    const t = await ParallelTrainer.create(graph, weights, {
      ...common,
      // As many ranks as PyTorch has threads, where the runtime runs on one thread (wasm, cpu).
      workers: 'auto',
      batchSize: c.batch,
      cores: threads,
    });
    const runtime = t.local.runtime.runtime;
    return {
      trainer: t,
      runs: `tfjs ${runtime}, ${t.ranks} thread${t.ranks > 1 ? 's (data-parallel)' : ''}`,
    };
  }
  const backend = GRAPH_BACKENDS[name];
  const available = await backend.isAvailable();
  if (!available.available) return { skip: available.reason ?? 'not available' };
  const t = await GraphTrainer.create(backend, graph, weights, { ...common, compile: { threads } });
  return { trainer: t, runs: t.describe() };
}

const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const dir = mkdtempSync(join(tmpdir(), 'cardinal-bench-train-'));
const rows: Record<string, string | number | boolean>[] = [];
const prepared = cases.map((c, k) => {
  const { graph } = buildFromJson(c.config, { inputShape: [c.batch, ...c.chw] });
  const weights = initWeights(graph, 0);
  const cfgPath = join(dir, `net${k}.json`);
  const wPath = join(dir, `net${k}.safetensors`);
  writeFileSync(cfgPath, JSON.stringify(c.config));
  writeFileSync(wPath, saveWeights(graph, weights));
  const x = randomNormal([c.batch, ...c.chw], 1);
  const labels = Int32Array.from({ length: c.batch }, (_, i) => i % 10);
  return { c, graph, weights, cfgPath, wPath, x, labels, s: summarize(graph) };
});
// One backend at a time (Dawn, whose device stays for the process, last), each alternating
// with its own PyTorch rounds: a live subject's threads (tfjs workers, Dawn) slowed a PyTorch
// process beside it by a third when all were held at once.
const order = BACKENDS.filter((b) => backends.includes(b));
for (const name of order)
  for (const { c, graph, weights, cfgPath, wPath, x, labels, s } of prepared) {
    const made = await trainerFor(name, c, graph, weights);
    if ('skip' in made) {
      console.error(`bench --suite train: ${c.network} on ${name} skipped: ${made.skip}`);
      continue;
    }
    for (let i = 0; i < warmup; i++) await made.trainer.trainBatch(x, labels);
    const ours: number[] = [];
    const theirs: number[] = [];
    let torchThreads = 0;
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) await made.trainer.trainBatch(x, labels);
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
          String(threads),
          c.freeze.join(','),
        ],
        { encoding: 'utf8' },
      );
      if (py.status !== 0) throw new Error(`PyTorch peer failed: ${py.stderr}`);
      const j = JSON.parse(py.stdout) as { images_per_second: number; threads: number };
      theirs.push(j.images_per_second);
      torchThreads = j.threads;
    }
    await made.trainer.dispose();
    rows.push({
      network: c.network,
      backend: name,
      params: s.params,
      mmacs_per_image: Number((s.macs / c.batch / 1e6).toFixed(1)),
      batch: c.batch,
      frozen: c.freeze.length > 0,
      cardinal: made.runs,
      cardinal_img_s: Number(median(ours).toFixed(1)),
      pytorch: `${torchThreads} threads`,
      pytorch_img_s: Number(median(theirs).toFixed(1)),
      ratio: Number((median(ours) / median(theirs)).toFixed(3)),
    });
  }
if (values.json) console.log(JSON.stringify(rows));
else if (rows.length > 0) {
  const t = new Table({ head: Object.keys(rows[0]!) });
  for (const r of rows) t.push(Object.values(r).map(String));
  console.log(t.toString());
}

if (values['recipe-epochs']) {
  // PyTorch's accuracy with the recipe of fashion_resnext's shipped weights (BENCHMARKS.md).
  const cfgPath = join(dir, 'fashion_resnext.json');
  writeFileSync(cfgPath, JSON.stringify(CASES.fashion_resnext!.config));
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
