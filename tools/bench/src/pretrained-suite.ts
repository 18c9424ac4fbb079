// pnpm bench --suite pretrained [--arch resnext101_32x8d] [--model resnext50_32x4d] [--images 100]
//                               [--batch 16] [--rounds 3] [--threads 2] [--json]
// 1. Loading a torchvision .pth (torch.save of resnext101_32x8d, about 356 MB): Cardinal's
//    readWeightsFile against torch.load, each in a fresh process, alternating for --rounds.
// 2. classify over --images photographs of 640x480 (scaled JPEG copies of python3-skimage's
//    sample photos) on the ONNX backend, against the backend's bare batch latency in the same
//    process: what decoding and preprocessing add.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { onnxBackend } from '@cardinal/backend-onnx';
import {
  type CompileOptions,
  createModel,
  IMAGENET_DEFAULTS,
  initTestWeights,
  randomNormal,
} from '@cardinal/core';
import { createClassifier } from '@cardinal/pretrained';
import sharp from 'sharp';
import { stats, timeRuns } from './stats.js';

const { values } = parseArgs({
  options: {
    suite: { type: 'string' },
    arch: { type: 'string', default: 'resnext101_32x8d' },
    model: { type: 'string', default: 'resnext50_32x4d' },
    images: { type: 'string', default: '100' },
    batch: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    json: { type: 'boolean' },
  },
  strict: true,
});
const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
const PEER = join(here, '..', 'python', 'pth_peer.py');
const rounds = Number(values.rounds);
const work = join(tmpdir(), 'cardinal-bench-pretrained');
mkdirSync(work, { recursive: true });

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

// 1. Loading.
const pth = join(work, `${values.arch}.pth`);
if (!existsSync(pth)) {
  console.error(`writing ${pth} with torch.save ...`);
  run(PYTHON, [PEER, 'make', pth, values.arch!]);
}
interface LoadSample {
  ms: number;
  peakMiB: number;
  baseMiB: number;
  tensors: number;
  elements: number;
}
const load: Record<'cardinal' | 'torch', LoadSample[]> = { cardinal: [], torch: [] };
for (let r = 0; r < rounds; r++) {
  load.cardinal.push(JSON.parse(run(process.execPath, [join(here, 'load-subject.js'), pth])) as LoadSample);
  load.torch.push(JSON.parse(run(PYTHON, [PEER, 'load', pth])) as LoadSample);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const loadRow = (s: LoadSample[]) => ({
  medianMs: median(s.map((x) => x.ms)),
  peakMiB: Math.max(...s.map((x) => x.peakMiB)),
  addedMiB: median(s.map((x) => x.peakMiB - x.baseMiB)),
  tensors: s[0]!.tensors,
  elements: s[0]!.elements,
});
const loadResult = { cardinal: loadRow(load.cardinal), torch: loadRow(load.torch) };

// 2. Classify: photographs of 640x480.
const photosDir = join(work, `photos-${values.images}`);
const SOURCES = [
  'astronaut.png',
  'chelsea.png',
  'coffee.png',
  'rocket.jpg',
  'motorcycle_left.png',
  'hubble_deep_field.jpg',
  'immunohistochemistry.png',
  'camera.png',
];
const skimage = '/usr/lib/python3/dist-packages/skimage/data';
if (!existsSync(photosDir) || readdirSync(photosDir).length !== Number(values.images)) {
  mkdirSync(photosDir, { recursive: true });
  const available = SOURCES.filter((f) => existsSync(join(skimage, f)));
  for (let i = 0; i < Number(values.images); i++) {
    const src = join(skimage, available[i % available.length]!);
    // Scaled copies, each a little different (flips, quality), so no two files are the same.
    let img = sharp(src).resize(640, 480, { fit: 'fill' });
    if (i % 2) img = img.flop();
    await img
      .jpeg({ quality: 85 + (i % 10) })
      .toFile(join(photosDir, `photo-${String(i).padStart(3, '0')}.jpg`));
  }
}
const files = readdirSync(photosDir)
  .map((f) => join(photosDir, f))
  .sort();
const batch = Number(values.batch);
const graph = createModel(values.model!, { inputShape: [batch, 3, 224, 224] });
const weights = initTestWeights(graph, 0);
const compile: CompileOptions = { threads: Number(values.threads) };
const exe = await onnxBackend.compile(graph, weights, compile);
// Both compiled once and warmed up: steady state against steady state.
const classifier = await createClassifier({ graph, weights }, onnxBackend, {
  preprocess: IMAGENET_DEFAULTS,
  batchSize: batch,
  compile,
});
await classifier.classify(files.slice(0, batch * 2));
const x = randomNormal([batch, 3, 224, 224], 1);
const bare: number[] = [];
const full: number[] = [];
for (let r = 0; r < rounds; r++) {
  const ms = stats(
    await timeRuns(() => exe.run({ [graph.inputs[0]!.name]: x }), 2, Math.ceil(files.length / batch)),
  ).medianMs;
  bare.push((batch * 1000) / ms);
  const res = await classifier.classify(files);
  full.push(files.length / res.seconds.classify);
}
exe.dispose();
classifier.dispose();
const classifyResult = {
  bareImagesPerSecond: median(bare),
  classifyImagesPerSecond: median(full),
  added: median(bare) / median(full) - 1,
};

const machine = `${cpus()[0]?.model.trim()}, ${cpus().length} cores, Node ${process.versions.node}`;
if (values.json) {
  console.log(JSON.stringify({ machine, load: loadResult, classify: classifyResult }));
} else {
  const c = loadResult.cardinal;
  const t = loadResult.torch;
  console.log(`machine: ${machine}`);
  console.log(
    `\nloading ${pth} (${c.tensors} tensors, ${(c.elements / 1e6).toFixed(1)}M values), ${rounds} rounds, fresh process each:`,
  );
  console.log('| loader | median ms | peak RSS MiB | added by the load MiB | cardinal / this (time) |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, row] of [
    ['cardinal readWeightsFile', c],
    ['torch.load', t],
  ] as const)
    console.log(
      `| ${name} | ${row.medianMs.toFixed(0)} | ${row.peakMiB.toFixed(0)} | ${row.addedMiB.toFixed(0)} | ${(c.medianMs / row.medianMs).toFixed(2)} |`,
    );
  console.log(
    `\nclassify ${files.length} photos of 640x480 (JPEG), ${values.model} on onnx, batch ${batch}, ${values.threads} threads, ${rounds} rounds:`,
  );
  console.log(`| bare batch latency | ${classifyResult.bareImagesPerSecond.toFixed(1)} images/s |`);
  console.log(
    `| classify (decode + preprocess + run + rank) | ${classifyResult.classifyImagesPerSecond.toFixed(1)} images/s |`,
  );
  console.log(`| added by decoding and preprocessing | ${(classifyResult.added * 100).toFixed(1)}% |`);
}
