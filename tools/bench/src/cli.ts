// pnpm bench [--model resnext50_32x4d] [--backend onnx] [--batch 1,8] [--runs 10] [--rounds 3] [--warmup 3]
//            [--threads 2] [--size 224] [--peers torch,ort-torch|none] [--json]
// Each subject runs in its own process; the subjects take turns for --rounds rounds and each
// one's samples are pooled, so slow drift of a shared machine falls on all of them alike.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createModel, getZooEntry, initTestWeights, resnetConfigToJson, saveWeights } from '@cardinal/core';
import Table from 'cli-table3';
import type { SubjectResult, WorkerRequest } from './protocol.js';
import { stats } from './stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const USAGE = `usage: pnpm bench [--model resnext50_32x4d] [--backend onnx] [--batch 1,8] [--runs 10] [--rounds 3]
                  [--warmup 3] [--threads 2] [--size 224] [--peers torch,ort-torch|none] [--json]
       pnpm bench --suite tfjs|webgpu|pretrained|serve|train
  Backends against PyTorch eager and ONNX Runtime on PyTorch's export, side by side; see tools/bench/README.md.`;
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
if (process.argv.includes('--suite')) {
  const i = process.argv.indexOf('--suite');
  const suite = process.argv[i + 1];
  if (suite === 'tfjs') await import('./tfjs-suite.js');
  else if (suite === 'webgpu') await import('./webgpu-suite.js');
  else if (suite === 'pretrained') await import('./pretrained-suite.js');
  else if (suite === 'serve') await import('./serve-suite.js');
  else if (suite === 'train') await import('./train-suite.js');
  else {
    console.error(`bench: unknown --suite '${suite}' (known: tfjs, webgpu, pretrained, serve, train)`);
    process.exit(1);
  }
  process.exit(0);
}
const PYTHON = '/usr/bin/python3';
const TORCH_PEER = join(here, '..', 'python', 'torch_peer.py');
/** Zoo names that torchvision also defines with the same state_dict. */
const TORCHVISION = new Set([
  'resnet18',
  'resnet34',
  'resnet50',
  'resnet101',
  'resnet152',
  'resnext50_32x4d',
  'resnext101_32x8d',
  'resnext101_64x4d',
]);

function parseOrUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    console.error(`bench: ${(e as Error).message.split('\n')[0]}\n${USAGE}`);
    process.exit(2);
  }
}

const { values } = parseOrUsage(() =>
  parseArgs({
    options: {
      model: { type: 'string', default: 'resnext50_32x4d' },
      backend: { type: 'string', default: 'onnx' },
      batch: { type: 'string', default: '1,8' },
      runs: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '3' },
      threads: { type: 'string', default: '2' },
      size: { type: 'string', default: '224' },
      peers: { type: 'string', default: 'torch,ort-torch' },
      json: { type: 'boolean' },
    },
    strict: true,
  }),
);

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(1);
}

function machine(): string {
  const r = spawnSync('lscpu', [], { encoding: 'utf8' });
  const name = /Model name:\s*(.+)/.exec(r.stdout ?? '')?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown CPU';
  return `${name}, ${cpus().length} cores`;
}

function runWorker(req: WorkerRequest): SubjectResult {
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, 'worker.js'), JSON.stringify(req)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) fail(`${req.kind} ${req.backend ?? ''} failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as SubjectResult;
}

function runPython(args: string[]): string {
  const r = spawnSync(PYTHON, [TORCH_PEER, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    env: { ...process.env, OMP_NUM_THREADS: values.threads },
  });
  if (r.status !== 0)
    fail(
      `PyTorch peer failed (needs Debian's python3-torch and python3-torchvision): ${r.stderr.trim().split('\n').pop()}`,
    );
  return r.stdout;
}

const batches = values.batch!.split(',').map(Number);
const common = {
  model: values.model!,
  batches,
  runs: Number(values.runs),
  warmup: Number(values.warmup),
  threads: Number(values.threads),
  size: Number(values.size),
};
if (batches.some((b) => !Number.isInteger(b) || b < 1))
  fail(`--batch must be positive integers, got ${values.batch}`);
const peers = values.peers === 'none' ? [] : values.peers!.split(',');

const tmp = mkdtempSync(join(tmpdir(), 'cardinal-bench-'));
try {
  // One set of weights for every subject: Cardinal's initialisation, saved with PyTorch names.
  const graph = createModel(common.model, { inputShape: [1, 3, common.size, common.size] });
  const weightsFile = join(tmp, 'weights.safetensors');
  writeFileSync(weightsFile, saveWeights(graph, initTestWeights(graph, 0)));
  // Models torchvision lacks (timm's ECA, BlurPool, ...) run on the PyTorch side as the
  // conformance replica (tools/conformance/python/timm_replica.py), built from the same config.
  const replicaArgs: string[] = [];
  if (peers.length && !TORCHVISION.has(common.model)) {
    const configFile = join(tmp, 'config.json');
    writeFileSync(configFile, JSON.stringify(resnetConfigToJson(getZooEntry(common.model).config)));
    replicaArgs.push(configFile);
  }

  const subjects: (() => SubjectResult)[] = [
    () => runWorker({ kind: 'cardinal', backend: values.backend, weightsFile, ...common }),
  ];
  if (peers.includes('ort-torch')) {
    const onnxFile = join(tmp, 'torch-export.onnx');
    runPython(['export', weightsFile, onnxFile, String(common.size), common.model, ...replicaArgs]);
    subjects.push(() => runWorker({ kind: 'onnx-file', onnxFile, ...common }));
  }
  if (peers.includes('torch')) {
    const reqFile = join(tmp, 'torch.json');
    writeFileSync(
      reqFile,
      JSON.stringify({
        ...common,
        weightsFile,
        ...(replicaArgs.length ? { replicaConfig: replicaArgs[0] } : {}),
      }),
    );
    subjects.push(() => JSON.parse(runPython(['eager', reqFile]).trim().split('\n').pop()!) as SubjectResult);
  }
  const rounds = Number(values.rounds);
  const perSubject: SubjectResult[][] = subjects.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (const [i, run] of subjects.entries()) perSubject[i]!.push(run());
  }
  const results: SubjectResult[] = perSubject.map((runs) => ({
    ...runs[0]!,
    peakRssMiB: Math.max(...runs.map((x) => x.peakRssMiB)),
    batches: runs[0]!.batches.map((b, k) => {
      const samples = runs.flatMap((x) => x.batches[k]!.samples);
      const latency = stats(samples);
      return { batch: b.batch, latency, imagesPerSecond: (b.batch * 1000) / latency.medianMs, samples };
    }),
  }));

  const ours = results[0]!;
  const report = {
    date: new Date().toISOString().slice(0, 10),
    machine: machine(),
    command: `pnpm bench ${process.argv.slice(2).join(' ')}`.trim(),
    model: common.model,
    size: common.size,
    threads: common.threads,
    rounds,
    results: results.map((r) => ({ ...r, batches: r.batches.map(({ samples: _s, ...b }) => b) })),
    ratios: results.slice(1).map((peer) => ({
      peer: peer.subject,
      latency: Object.fromEntries(
        ours.batches.map((b) => [
          `batch${b.batch}`,
          b.latency.medianMs / peer.batches.find((p) => p.batch === b.batch)!.latency.medianMs,
        ]),
      ),
    })),
  };
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(
      `${report.model} at ${report.size}x${report.size}, ${report.threads} threads, ${report.machine}, ${report.date}`,
    );
    const t = new Table({
      head: ['subject', 'batch', 'median ms', 'p90 ms', 'images/s', 'peak RSS MiB', `${ours.subject} / this`],
    });
    for (const r of results) {
      for (const b of r.batches) {
        const mine = ours.batches.find((o) => o.batch === b.batch)!;
        t.push([
          r.subject,
          b.batch,
          b.latency.medianMs.toFixed(1),
          b.latency.p90Ms.toFixed(1),
          b.imagesPerSecond.toFixed(1),
          r.peakRssMiB.toFixed(0),
          (mine.latency.medianMs / b.latency.medianMs).toFixed(2),
        ]);
      }
    }
    console.log(t.toString());
    for (const r of results) console.log(`  ${r.subject}: ${r.detail}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
