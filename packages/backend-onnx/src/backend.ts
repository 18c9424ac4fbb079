import {
  type Availability,
  type Backend,
  BackendUnavailableError,
  type CompileOptions,
  checkInput,
  DisposeGuard,
  type Executable,
  type Graph,
  OP_NAMES,
  type Tensor,
  type WeightMap,
} from '@cardinal/core';
import { exportOnnx, type OnnxExportOptions } from './model.js';
import {
  createSession,
  type ExecutionProvider,
  loadOrt,
  type SessionOptions,
  sessionOptionsOf,
} from './runtime.js';
import { createWorkerSession } from './worker-session.js';

export interface OnnxCompileOptions extends CompileOptions, OnnxExportOptions, SessionOptions {
  /**
   * Run the session in a worker thread. onnxruntime-node runs a session on the calling thread,
   * blocking its event loop for the whole run; a server (or a pipeline that decodes while the
   * model runs) keeps its event loop free this way. Inputs are copied to the worker, except those
   * in shared memory (a SharedArrayBuffer), which the worker reads in place.
   */
  worker?: boolean;
}

export interface OnnxExecutable extends Executable {
  /** The provider the session runs on. */
  readonly provider: ExecutionProvider;
}

export async function compileOnnx(
  graph: Graph,
  weights: WeightMap,
  options: OnnxCompileOptions = {},
): Promise<OnnxExecutable> {
  const { ort, error } = loadOrt();
  if (!ort) throw new BackendUnavailableError(error ?? 'onnxruntime-node cannot be loaded');
  if (options.worker) return compileInWorker(graph, weights, options);
  // The model bytes are dropped once the session holds its own copy.
  const { session, provider, fallbackReason } = await createSession(
    ort,
    exportOnnx(graph, weights, options),
    options,
  );
  const batchFree = options.batchDim !== null;
  const guard = new DisposeGuard(graph.name);
  return {
    provider,
    async run(inputs) {
      guard.check();
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
      for (const spec of graph.inputs) {
        const t = checkInput(spec, inputs[spec.name], { batchFree });
        // onnxruntime-node refuses shared memory (SharedArrayBuffer): such an input is copied.
        const data = t.data.buffer instanceof SharedArrayBuffer ? new Float32Array(t.data) : t.data;
        feeds[spec.name] = new ort.Tensor('float32', data, [...t.shape]);
      }
      const results = await session.run(feeds);
      const out: Record<string, Tensor> = {};
      for (const name of graph.outputs) {
        const r = results[name]!;
        out[name] = { shape: [...r.dims], data: Float32Array.from(r.data as Float32Array) };
        r.dispose();
      }
      return out;
    },
    dispose() {
      if (!guard.dispose()) return;
      void session.release();
    },
    describe: () =>
      `onnx (onnxruntime-node ${ort.env.versions?.common ?? ''}, ${provider.toUpperCase()} execution provider${fallbackReason ? `; skipped ${fallbackReason}` : ''})`,
  };
}

/** compileOnnx with the session in a worker thread (options.worker). */
async function compileInWorker(
  graph: Graph,
  weights: WeightMap,
  options: OnnxCompileOptions,
): Promise<OnnxExecutable> {
  const session = await createWorkerSession(exportOnnx(graph, weights, options), sessionOptionsOf(options));
  const batchFree = options.batchDim !== null;
  const guard = new DisposeGuard(graph.name);
  return {
    provider: session.provider as ExecutionProvider,
    async run(inputs) {
      guard.check();
      const feeds = graph.inputs.map((spec) => {
        const t = checkInput(spec, inputs[spec.name], { batchFree });
        return { name: spec.name, dims: [...t.shape], data: t.data };
      });
      const results = await session.run(feeds);
      const out: Record<string, Tensor> = {};
      for (const name of graph.outputs) {
        const r = results.find((o) => o.name === name)!;
        out[name] = { shape: r.dims, data: r.data };
      }
      return out;
    },
    dispose() {
      if (guard.dispose()) session.close();
    },
    describe: () =>
      `onnx (onnxruntime-node ${session.version}, ${session.provider.toUpperCase()} execution provider, in a worker thread${session.fallbackReason ? `; skipped ${session.fallbackReason}` : ''})`,
  };
}

/** The ONNX Runtime backend. */
export const onnxBackend: Backend<OnnxCompileOptions> = {
  name: 'onnx',
  supportedOps: OP_NAMES,
  async isAvailable(): Promise<Availability> {
    const { ort, error } = loadOrt();
    return ort ? { available: true } : { available: false, reason: error };
  },
  compile: compileOnnx,
};
