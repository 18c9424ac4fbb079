// The user's browser app: the custom network on WebGPU (navigator.gpu), and an ONNX export of
// it loaded only when asked (its own chunk).
import { webgpuBackend } from '@cardinal/backend-webgpu';
import { initTestWeights, validateGraph } from '@cardinal/core';
import { sampleInput, triAttentionNet } from '../src/net.js';

declare global {
  interface Window {
    cardinalResult?: { logits?: number[]; onnxBytes?: number; describe?: string; error?: string };
  }
}

async function main(): Promise<void> {
  const graph = validateGraph(triAttentionNet());
  const weights = initTestWeights(graph, 7);
  const model = await webgpuBackend.compile(graph, weights);
  const y = (await model.run({ input: sampleInput() }))[graph.outputs[0]!]!;
  const describe = model.describe();
  model.dispose();
  const { exportOnnx } = await import('@cardinal/backend-onnx/export');
  const onnxBytes = exportOnnx(graph, weights).byteLength;
  window.cardinalResult = { logits: Array.from(y.data), onnxBytes, describe };
  document.getElementById('out')!.textContent = JSON.stringify(window.cardinalResult);
}

main().catch((e: unknown) => {
  window.cardinalResult = { error: e instanceof Error ? e.message : String(e) };
});
