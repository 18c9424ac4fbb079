import { FORWARD_OP_NAMES, type Graph, requireWeight, type Tensor, type WeightMap } from '@cardinal/core';
import type { Availability, Backend, CompileOptions, Executable } from '@cardinal/core/backend';
import { batchIsFree, checkFeeds, DisposeGuard, prepareToCompile } from '@cardinal/core/backend';
import type * as TF from '@tensorflow/tfjs';
import type { ConvStrategy } from './lower/conv-strategy.js';
import { Program } from './program.js';
import {
  describeRuntime,
  runDeviceOf,
  selectRuntimeFor,
  type TfjsRuntime,
  type TfjsRuntimeName,
} from './runtime.js';
import { compileTfjsTraining } from './train-contract.js';

export interface TfjsCompileOptions extends CompileOptions {
  /**
   * Force a runtime instead of the first that loads (node-gpu, node, wasm, cpu). The common
   * `threads` is not honoured: tfjs-wasm runs one thread in Node, and tfjs-node sets its own.
   */
  runtime?: TfjsRuntimeName;
  /** Force one grouped-convolution strategy; default: chosen per layer by shape. */
  convStrategy?: ConvStrategy;
}

export interface TfjsExecutable extends Executable {
  readonly runtime: TfjsRuntime;
  /** @internal The lowered program (tfjs-typed; see internals.ts). */
  readonly program: Program;
}

/** Makes the runtime's backend current; tfjs has one global backend. */
export async function activate(r: TfjsRuntime): Promise<void> {
  if (r.tf.getBackend() !== r.backend) await r.tf.setBackend(r.backend);
}

/**
 * Inference on tfjs: BatchNorm folded into the convs, filters laid out for their strategy
 * once at compile time, NHWC inside, every run under tf.tidy.
 */
export async function compileTfjs(
  graph: Graph,
  weights: WeightMap,
  options: TfjsCompileOptions = {},
): Promise<TfjsExecutable> {
  const runtime = await selectRuntimeFor(options.device, options.runtime);
  const device = runDeviceOf(runtime);
  const folded = prepareToCompile('tfjs', graph, weights, options, device);
  await activate(runtime);
  const { tf } = runtime;
  const g = folded.graph;
  const program = new Program(tf, g, { convStrategy: options.convStrategy });
  const constants: TF.Tensor[] = [];
  let prep = new Map<string, import('./program.js').NodePrep>();
  // Everything made on the way (PyTorch-layout copies, transposes) is freed; the prepared tensors are kept.
  tf.tidy(() => {
    const params = new Map<string, TF.Tensor>();
    const param = (key: string) => {
      let t = params.get(key);
      if (!t) {
        const w = requireWeight(folded.weights, key, graph.name);
        t = tf.tensor(w.data, [...w.shape]);
        params.set(key, t);
      }
      return t;
    };
    prep = program.prepare(param, false);
    for (const np of prep.values()) {
      for (const v of Object.values(np)) {
        for (const t of Array.isArray(v) ? v : [v]) if (t instanceof tf.Tensor) constants.push(tf.keep(t));
      }
    }
  });
  const guard = new DisposeGuard(graph.name);
  // One input may come at any batch size; a graph of several inputs takes the shapes it declares.
  const batchFree = batchIsFree(g.inputs.length, options);
  return {
    backend: 'tfjs',
    device,
    runtime,
    program,
    async run(inputs) {
      guard.check();
      const checked = checkFeeds(g.inputs, inputs, batchFree);
      const xs = g.inputs.map((spec, i) => [spec.name, checked[i]!] as const);
      await activate(runtime);
      const outs = tf.tidy(() =>
        program.forward(
          Object.fromEntries(xs.map(([name, x]) => [name, tf.tensor(x.data, [...x.shape])])),
          prep,
        ),
      );
      const result: Record<string, Tensor> = {};
      for (const name of g.outputs) {
        const t = outs[name]!;
        result[name] = { shape: [...t.shape], data: Float32Array.from(await t.data()) };
        t.dispose();
      }
      return result;
    },
    dispose() {
      if (!guard.dispose()) return;
      for (const t of constants) t.dispose();
      program.dispose();
    },
    describe: () => describeRuntime(runtime),
  };
}

export const tfjsBackend: Backend<TfjsCompileOptions> = {
  name: 'tfjs',
  supportedOps: FORWARD_OP_NAMES,
  async isAvailable(): Promise<Availability> {
    try {
      await import('@tensorflow/tfjs');
      return { available: true };
    } catch {
      return { available: false, reason: '@tensorflow/tfjs is not installed' };
    }
  },
  compile: compileTfjs,
  compileTraining: (training, weights, options = {}) => compileTfjsTraining(training, weights, options),
};
