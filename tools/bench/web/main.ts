// The browser side of `pnpm bench --suite webgpu`: one subject per page load (onnxruntime-web
// fixes its thread count when its wasm starts), the same weights, ONNX file and input for all.

import { compileWebGpu } from '@cardinal/backend-webgpu';
import { buildModel, loadSafetensorsWeights, readRawF32, type Tensor } from '@cardinal/core';

export interface BenchRequest {
  subject: 'cardinal-webgpu' | 'ort-webgpu' | 'ort-wasm';
  model: string;
  size: number;
  warmup: number;
  runs: number;
  threads?: number;
  profile?: boolean;
}

export interface BenchReply {
  timesMs: number[];
  adapter: string;
  output: number[];
  crossOriginIsolated: boolean;
  profile?: { kind: string; count: number; ms: number; source: string }[];
}

async function bytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function adapterName(): Promise<string> {
  const a = await navigator.gpu?.requestAdapter();
  return a ? `${a.info.vendor} ${a.info.architecture}`.trim() : 'none';
}

async function time(runs: number, warmup: number, once: () => Promise<Float32Array>) {
  let output: Float32Array = new Float32Array();
  for (let i = 0; i < warmup; i++) output = await once();
  const timesMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    output = await once();
    timesMs.push(performance.now() - t0);
  }
  return { timesMs, output: Array.from(output) };
}

async function runCardinal(req: BenchRequest, input: Tensor): Promise<BenchReply> {
  const { graph } = buildModel(req.model, { inputShape: [1, 3, req.size, req.size] });
  const { weights } = loadSafetensorsWeights(graph, await bytes('/bench-data/weights.safetensors'), {
    strict: true,
  });
  const exe = await compileWebGpu(graph, weights);
  const feeds = { [graph.inputs[0]!.name]: input };
  const r = await time(req.runs, req.warmup, async () => (await exe.run(feeds))[graph.outputs[0]!]!.data);
  const profile = req.profile ? await exe.profile(feeds) : undefined;
  exe.dispose();
  return { ...r, adapter: exe.describe(), crossOriginIsolated, profile };
}

// onnxruntime-web's own types; the module itself is served at /ort/.
type OrtModule = typeof import('onnxruntime-web');

async function runOrt(req: BenchRequest, input: Tensor): Promise<BenchReply> {
  const url = '/ort/ort.webgpu.min.mjs';
  const ort = (await import(/* @vite-ignore */ url)) as OrtModule;
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.wasm.numThreads = req.threads ?? 1;
  const ep = req.subject === 'ort-webgpu' ? 'webgpu' : 'wasm';
  const session = await ort.InferenceSession.create(await bytes(`/bench-data/model-${req.size}.onnx`), {
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
  });
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input.data, [...input.shape]) };
  const r = await time(
    req.runs,
    req.warmup,
    // A float32 model: its output data is a Float32Array.
    async () => (await session.run(feeds))[session.outputNames[0]!]!.data as Float32Array,
  );
  const adapter = ep === 'webgpu' ? await adapterName() : `wasm, ${req.threads ?? 1} thread(s)`;
  return { ...r, adapter, crossOriginIsolated };
}

async function run(req: BenchRequest): Promise<BenchReply> {
  const input = readRawF32(
    await bytes(`/bench-data/input-${req.size}.bin`),
    [1, 3, req.size, req.size],
    'input',
  );
  return req.subject === 'cardinal-webgpu' ? runCardinal(req, input) : runOrt(req, input);
}

declare global {
  interface Window {
    bench: { run: typeof run };
  }
}
window.bench = { run };
document.getElementById('status')!.textContent = 'ready';
