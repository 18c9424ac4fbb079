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
import { createSession, type ExecutionProvider, loadOrt, type SessionOptions } from './runtime.js';

export interface OnnxCompileOptions extends CompileOptions, OnnxExportOptions, SessionOptions {}

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
        feeds[spec.name] = new ort.Tensor('float32', t.data, [...t.shape]);
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
