import {
  BackendUnavailableError,
  type Graph,
  InternalError,
  OP_NAMES,
  type Tensor,
  type WeightMap,
} from '@cardinal/core';
import type {
  Availability,
  Backend,
  CompileOptions,
  DevicePreference,
  Executable,
  RunDevice,
} from '@cardinal/core/backend';
import { checkFeeds, DisposeGuard } from '@cardinal/core/backend';
import { exportOnnx, type OnnxExportOptions } from './model.js';
import { type ExecutionProvider, loadOrt, type SessionOptions, sessionOptionsOf } from './runtime.js';
import { createLocalSession, type FeedSession } from './session.js';
import { compileOnnxTraining } from './train.js';
import { createWorkerSession } from './worker-session.js';

export interface OnnxCompileOptions extends CompileOptions, OnnxExportOptions, SessionOptions {}

export interface OnnxExecutable extends Executable {
  /** The provider the session runs on. */
  readonly provider: ExecutionProvider;
}

/**
 * The session options the common ones ask for: `threads` as intra-op threads, `device` as
 * the providers to try, `idleThreads` as spinning; ONNX Runtime's own names win where both are set.
 */
function sessionOptionsFor(options: OnnxCompileOptions): SessionOptions {
  const providers: Record<DevicePreference, ExecutionProvider[] | undefined> = {
    auto: undefined,
    cpu: ['cpu'],
    gpu: ['cuda'],
  };
  const executionProviders = options.executionProviders ?? providers[options.device ?? 'auto'];
  const intraOpNumThreads = options.intraOpNumThreads ?? options.threads;
  const allowSpinning =
    options.allowSpinning ?? (options.idleThreads === undefined ? undefined : options.idleThreads === 'spin');
  return sessionOptionsOf({
    ...options,
    ...(executionProviders ? { executionProviders } : {}),
    ...(intraOpNumThreads !== undefined ? { intraOpNumThreads } : {}),
    ...(allowSpinning !== undefined ? { allowSpinning } : {}),
  });
}

/**
 * Compiles a graph to an ONNX Runtime session (CUDA where it runs, else the CPU), on the calling
 * thread or, with `worker: true`, in a worker thread that leaves the caller's event loop free.
 */
export async function compileOnnx(
  graph: Graph,
  weights: WeightMap,
  options: OnnxCompileOptions = {},
): Promise<OnnxExecutable> {
  const { ort, error } = loadOrt();
  if (!ort) throw new BackendUnavailableError(error ?? 'onnxruntime-node cannot be loaded');
  const fixed = options.batch === 'fixed' ? { batchDim: null } : {};
  // The model bytes are dropped once the session holds its own copy.
  const model = exportOnnx(graph, weights, { ...options, ...fixed });
  const sessionOptions = sessionOptionsFor(options);
  const session = options.worker
    ? await createWorkerSession(model, sessionOptions)
    : await createLocalSession(ort, model, sessionOptions);
  return executableOver(graph, session, options.batchDim !== null && options.batch !== 'fixed');
}

/** The compiled model over a session, in this thread or a worker alike. */
function executableOver(graph: Graph, session: FeedSession, batchFree: boolean): OnnxExecutable {
  const guard = new DisposeGuard(graph.name);
  const device: RunDevice =
    session.provider === 'cuda' ? { kind: 'gpu', name: 'CUDA' } : { kind: 'cpu', name: 'CPU' };
  const where = session.where === 'worker' ? ', in a worker thread' : '';
  const skipped = session.fallbackReason ? `; skipped ${session.fallbackReason}` : '';
  return {
    backend: 'onnx',
    device,
    provider: session.provider,
    async run(inputs) {
      guard.check();
      const feeds = checkFeeds(graph.inputs, inputs, batchFree).map((t, i) => ({
        name: graph.inputs[i]!.name,
        dims: [...t.shape],
        data: t.data,
      }));
      const results = await session.run(feeds);
      const out: Record<string, Tensor> = {};
      for (const name of graph.outputs) {
        const r = results.find((o) => o.name === name);
        if (!r) throw new InternalError(`onnxruntime-node returned no output '${name}'`);
        out[name] = { shape: r.dims, data: r.data };
      }
      return out;
    },
    dispose() {
      if (guard.dispose()) session.close();
    },
    describe: () =>
      `onnx (onnxruntime-node ${session.version}, ${session.provider.toUpperCase()} execution provider${where}${skipped})`,
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
  compileTraining: (training, weights, options = {}) =>
    compileOnnxTraining(training, weights, options, sessionOptionsFor(options)),
};
