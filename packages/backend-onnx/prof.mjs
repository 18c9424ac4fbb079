import { readdirSync, readFileSync } from 'node:fs';
import { buildFromJson, initWeights, randomNormal, trainingGraph } from '@cardinal/core';
import ort from 'onnxruntime-node';
import { trainingModelProto } from './dist/model.js';

const cfg = {
  block: 'Bottleneck',
  layers: [2, 1, 1, 1],
  channels: [16, 32, 64, 64],
  cardinality: 8,
  base_width: 16,
  num_classes: 10,
};
const { graph } = buildFromJson(cfg, { inputShape: [64, 3, 32, 32] });
const w = initWeights(graph, 0);
const tg = trainingGraph(graph, { loss: { kind: 'crossEntropy' } });
const { bytes, paramInputs } = trainingModelProto(tg, w);
const s = await ort.InferenceSession.create(bytes, {
  intraOpNumThreads: Number(process.argv[2] ?? 2),
  enableProfiling: true,
  profileFilePrefix: '/tmp/ortprof',
  graphOptimizationLevel: 'all',
});
const feeds = { input: new ort.Tensor('float32', randomNormal([64, 3, 32, 32], 1).data, [64, 3, 32, 32]) };
const tgt = new Float32Array(640);
for (let i = 0; i < 64; i++) tgt[i * 10 + (i % 10)] = 1;
feeds.targets = new ort.Tensor('float32', tgt, [64, 10]);
for (const k of paramInputs) {
  const t = w.get(k);
  feeds[k] = new ort.Tensor('float32', t.data, t.shape);
}
for (let i = 0; i < 3; i++) await s.run(feeds);
const t0 = performance.now();
for (let i = 0; i < 10; i++) await s.run(feeds);
console.log('step ms', ((performance.now() - t0) / 10).toFixed(1), 'nodes', tg.graph.nodes.length);
s.endProfiling();
const file =
  '/tmp/' +
  readdirSync('/tmp')
    .filter((f) => f.startsWith('ortprof'))
    .sort()
    .pop();
const ev = JSON.parse(readFileSync(file, 'utf8'));
const by = new Map();
for (const e of ev)
  if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) {
    const k = e.args.op_name;
    by.set(k, (by.get(k) ?? 0) + e.dur);
  }
const tot = [...by.values()].reduce((a, b) => a + b, 0);
for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 20))
  console.log(k.padEnd(22), (v / 13 / 1000).toFixed(2), 'ms/step', ((100 * v) / tot).toFixed(1) + '%');
const byNode = new Map();
for (const e of ev)
  if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) {
    const k = e.name.replace('_kernel_time', '') + ' ' + e.args.op_name;
    byNode.set(k, (byNode.get(k) ?? 0) + e.dur);
  }
for (const [k, v] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log(k.padEnd(60), (v / 13 / 1000).toFixed(2));
