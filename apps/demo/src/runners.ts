import { exportOnnx } from '@cardinal/backend-onnx/export';
import { compileWebGpu, webgpuBackend } from '@cardinal/backend-webgpu';
import type { Graph, Tensor, WeightMap } from '@cardinal/core';

/** A compiled model on one backend, as the page uses it. */
export interface Runner {
  name: string;
  /** What runs it, in words (adapter or wasm threads). */
  device: string;
  run(x: Tensor): Promise<Float32Array>;
  dispose(): void;
}

export async function webgpuReason(): Promise<string | undefined> {
  const a = await webgpuBackend.isAvailable();
  return a.available ? undefined : a.reason;
}

export async function webgpuRunner(graph: Graph, weights: WeightMap): Promise<Runner> {
  const exe = await compileWebGpu(graph, weights);
  const input = graph.inputs[0]!.name;
  return {
    name: 'webgpu',
    device: exe.adapter,
    run: async (x) => (await exe.run({ [input]: x }))[graph.outputs[0]!]!.data,
    dispose: () => exe.dispose(),
  };
}

// onnxruntime-web's own types; the module itself is served by the app at /ort/.
type OrtWeb = typeof import('onnxruntime-web');

let ort: Promise<OrtWeb> | undefined;

/** onnxruntime-web, loaded once from the app's /ort/ folder (its wasm files beside it). */
export function ortWeb(): Promise<OrtWeb> {
  ort ??= (async () => {
    const url = '/ort/ort.wasm.min.mjs';
    const m = (await import(/* @vite-ignore */ url)) as OrtWeb;
    m.env.wasm.wasmPaths = '/ort/';
    m.env.wasm.numThreads = crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    return m;
  })();
  return ort;
}

/** The fallback: the same graph exported to ONNX in the page and run by onnxruntime-web's wasm. */
export async function ortWasmRunner(graph: Graph, weights: WeightMap): Promise<Runner> {
  const o = await ortWeb();
  const session = await o.InferenceSession.create(exportOnnx(graph, weights), {
    executionProviders: ['wasm'],
  });
  return {
    name: 'onnxruntime-web (wasm)',
    device: `wasm, ${o.env.wasm.numThreads} thread(s)`,
    async run(x) {
      const feeds = { [session.inputNames[0]!]: new o.Tensor('float32', x.data, [...x.shape]) };
      // The model's output is float32, so its data is a Float32Array.
      return (await session.run(feeds))[session.outputNames[0]!]!.data as Float32Array;
    },
    dispose: () => void session.release(),
  };
}
