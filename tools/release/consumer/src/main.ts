// The user's Node program: the custom network on every backend installed, with the same
// deterministic weights; prints each backend's logits as JSON.
import { onnxBackend } from '@cardinal/backend-onnx';
import { tfjsBackend } from '@cardinal/backend-tfjs';
import { webgpuBackend } from '@cardinal/backend-webgpu';
import { type Backend, initTestWeights, referenceBackend, topK, validateGraph } from '@cardinal/core';
import type { ImageClassifier } from '@cardinal/pretrained';
import type { InferenceServer, ServeOptions } from '@cardinal/serve';
import { sampleInput, triAttentionNet } from './net.js';

// The Node-only packages' public types compile too (checked by tsc, nothing started here).
export type NodeSide = { classifier?: ImageClassifier; server?: InferenceServer; options?: ServeOptions };

const graph = validateGraph(triAttentionNet());
const weights = initTestWeights(graph, 7);
const input = sampleInput();
const results: Record<string, { logits: number[]; top: { index: number; logit: number }[] }> = {};
const backends: Backend[] = [referenceBackend, onnxBackend, tfjsBackend, webgpuBackend];
for (const backend of backends) {
  const available = await backend.isAvailable();
  if (!available.available) {
    console.error(`${backend.name}: not available (${available.reason ?? 'no reason given'})`);
    continue;
  }
  const model = await backend.compile(graph, weights);
  const y = (await model.run({ input }))[graph.outputs[0]!]!;
  model.dispose();
  results[backend.name] = { logits: Array.from(y.data), top: topK(y, 3)[0]! };
}
console.log(JSON.stringify(results));
