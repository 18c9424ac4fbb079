// pnpm bench --suite tfjs [--runtime wasm] [--runs 5] [--json]
// 1. Each grouped-convolution lowering against per-group slicing on the four ResNeXt-50 stage
//    shapes (3x3, 32 groups, batch 1). 2. resnext50_32x4d and resnet50 at 224, batch 1, on the
//    same tfjs runtime, with the ONNX backend beside them in the same run.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { onnxBackend } from '@cardinal/backend-onnx';
import { type TfjsRuntimeName, tfjsBackend } from '@cardinal/backend-tfjs';
import {
  applyConv,
  type ConvStrategy,
  planConv,
  prepareFilter,
  selectRuntime,
} from '@cardinal/backend-tfjs/internals';
import { type Backend, type Conv2dAttrs, createModel, initTestWeights } from '@cardinal/core';
import { stats, timeRuns } from './stats.js';

const { values } = parseArgs({
  options: {
    suite: { type: 'string' },
    runtime: { type: 'string', default: 'wasm' },
    runs: { type: 'string', default: '5' },
    json: { type: 'boolean' },
  },
  strict: false,
});
const runs = Number(values.runs);
const runtimeName = values.runtime as TfjsRuntimeName;

async function timeIt(fn: () => Promise<unknown>, warmup = 2, count = runs): Promise<number> {
  return stats(await timeRuns(fn, warmup, count)).medianMs;
}

const runtime = await selectRuntime(runtimeName);
const tf = runtime.tf;
const STAGES = [
  { stage: 'layer1', channels: 128, size: 56 },
  { stage: 'layer2', channels: 256, size: 28 },
  { stage: 'layer3', channels: 512, size: 14 },
  { stage: 'layer4', channels: 1024, size: 7 },
];
const strategies: ConvStrategy[] = ['slices', 'blockdiag', 'expand', 'gemm'];
const convRows: {
  stage: string;
  shape: string;
  ms: Record<string, number>;
  speedup: Record<string, number>;
  rule: ConvStrategy;
}[] = [];
for (const s of STAGES) {
  const a: Conv2dAttrs = {
    outChannels: s.channels,
    kernel: [3, 3],
    stride: [1, 1],
    padding: [1, 1, 1, 1],
    dilation: [1, 1],
    groups: 32,
    bias: false,
  };
  const x = tf.randomNormal([1, s.size, s.size, s.channels]) as import('@tensorflow/tfjs').Tensor4D;
  const w = tf.randomNormal([s.channels, s.channels / 32, 3, 3]);
  const ms: Record<string, number> = {};
  for (const strategy of strategies) {
    const plan = planConv(a, s.channels, strategy);
    const f = tf.tidy(() => prepareFilter(tf, w, a, plan));
    // Convolutions are quick: many more samples than for whole models.
    ms[strategy] = await timeIt(
      async () => {
        const y = tf.tidy(() => applyConv(tf, x, f, undefined, a, plan));
        await y.data();
        y.dispose();
      },
      5,
      runs * 6,
    );
    tf.dispose(f);
  }
  x.dispose();
  w.dispose();
  const speedup = Object.fromEntries(strategies.map((k) => [k, ms.slices! / ms[k]!]));
  convRows.push({
    stage: s.stage,
    shape: `1x${s.size}x${s.size}x${s.channels}, g=32`,
    ms,
    speedup,
    rule: planConv(a, s.channels, undefined, s.size * s.size).strategy,
  });
}

async function modelLatency(
  backend: Backend<object>,
  name: string,
  options: object,
): Promise<{ ms: number; detail: string }> {
  const graph = createModel(name, { inputShape: [1, 3, 224, 224] });
  const exe = await backend.compile(graph, initTestWeights(graph), options);
  const x = {
    input: { shape: [1, 3, 224, 224], data: new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i)) },
  };
  const ms = await timeIt(() => exe.run(x), 1);
  const detail = exe.describe();
  exe.dispose();
  return { ms, detail };
}

const models = ['resnext50_32x4d', 'resnet50'];
const modelRows: { backend: string; model: string; ms: number; detail: string }[] = [];
for (const [label, backend, options] of [
  [`tfjs-${runtimeName}`, tfjsBackend, { runtime: runtimeName }],
  ['onnx', onnxBackend, { executionProviders: ['cpu'], intraOpNumThreads: 1 }],
] as const) {
  for (const m of models)
    modelRows.push({
      backend: label,
      model: m,
      ...(await modelLatency(backend as Backend<object>, m, options)),
    });
}
const ratio = (b: string) =>
  modelRows.find((r) => r.backend === b && r.model === models[0])!.ms /
  modelRows.find((r) => r.backend === b && r.model === models[1])!.ms;
const report = {
  date: new Date().toISOString().slice(0, 10),
  machine: `${cpus()[0]?.model ?? 'CPU'}, ${cpus().length} cores`,
  runtime: runtimeName,
  runs,
  groupedConv: convRows,
  models: modelRows,
  resnextOverResnet: { [`tfjs-${runtimeName}`]: ratio(`tfjs-${runtimeName}`), onnx: ratio('onnx') },
};
if (values.json) console.log(JSON.stringify(report, null, 2));
else {
  for (const r of convRows) {
    console.log(
      `${r.stage} ${r.shape}: ${strategies.map((k) => `${k} ${r.ms[k]!.toFixed(1)} ms (x${r.speedup[k]!.toFixed(2)})`).join(', ')}; rule picks ${r.rule}`,
    );
  }
  for (const r of modelRows) console.log(`${r.backend} ${r.model}: ${r.ms.toFixed(0)} ms  (${r.detail})`);
  console.log(
    `resnext50_32x4d / resnet50: ${Object.entries(report.resnextOverResnet)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ')}`,
  );
}
