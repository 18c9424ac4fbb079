import type { Backend, CompileOptions, Executable } from '../backend.js';
import {
  checkDevicePreference,
  checkInput,
  checkWeightUpdate,
  DisposeGuard,
  trainingStepOf,
} from '../backend-kit.js';
import { GraphError, InputError } from '../errors.js';
import type { Graph, WeightMap } from '../ir/graph.js';
import { getOp, OP_NAMES } from '../ops/registry.js';
import type { Tensor } from '../tensor.js';

export interface ReferenceRunOptions {
  onProgress?: (done: number, total: number) => void;
}

/** Checks that the given inputs are exactly the graph's, with the graph's shapes. */
export function checkInputs(graph: Graph, inputs: Readonly<Record<string, Tensor>>): void {
  for (const spec of graph.inputs) checkInput(spec, inputs[spec.name]);
  for (const name of Object.keys(inputs)) {
    if (!graph.inputs.some((s) => s.name === name)) {
      throw new InputError(
        `unexpected input '${name}'; the graph takes ${graph.inputs.map((s) => `'${s.name}'`).join(', ')}`,
      );
    }
  }
}

/**
 * Runs a graph with the reference kernels: slow, exact (float64 accumulation), always
 * available. Intermediate tensors are dropped after their last use.
 */
export function runReference(
  graph: Graph,
  weights: WeightMap,
  inputs: Readonly<Record<string, Tensor>>,
  options: ReferenceRunOptions = {},
): Record<string, Tensor> {
  checkInputs(graph, inputs);
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((node, i) => {
    for (const t of node.inputs) lastUse.set(t, i);
  });
  const outputs = new Set(graph.outputs);
  const env = new Map<string, Tensor>(Object.entries(inputs));
  graph.nodes.forEach((node, i) => {
    const args = node.inputs.map((t) => {
      const v = env.get(t);
      if (!v)
        throw new GraphError(
          `${node.path || node.name}: input tensor '${t}' is not computed before this node`,
        );
      return v;
    });
    const params: Record<string, Tensor> = {};
    for (const [role, key] of Object.entries(node.params)) {
      const w = weights.get(key);
      if (w) params[role] = w;
      else if (role !== 'num_batches_tracked')
        throw new GraphError(`${node.path}: no value for parameter '${key}'`);
    }
    const results = getOp(node.op).reference({ inputs: args, params, attrs: node.attrs });
    node.outputs.forEach((name, k) => {
      env.set(name, results[k]!);
    });
    for (const t of node.inputs) {
      if (lastUse.get(t) === i && !outputs.has(t)) env.delete(t);
    }
    options.onProgress?.(i + 1, graph.nodes.length);
  });
  const result: Record<string, Tensor> = {};
  for (const name of graph.outputs) {
    const t = env.get(name);
    if (!t) throw new GraphError(`output '${name}' is never computed`);
    result[name] = t;
  }
  return result;
}

/** The reference executor as a Backend, so callers can treat it like any other. */
export const referenceBackend: Backend = {
  name: 'reference',
  supportedOps: OP_NAMES,
  isAvailable: async () => ({ available: true }),
  async compile(graph: Graph, weights: WeightMap, options: CompileOptions = {}): Promise<Executable> {
    const device = { kind: 'cpu', name: 'CPU' } as const;
    checkDevicePreference('reference', options, device);
    const guard = new DisposeGuard(graph.name);
    return {
      backend: 'reference',
      device,
      async run(inputs) {
        guard.check();
        return runReference(graph, weights, inputs, options);
      },
      dispose() {
        guard.dispose();
      },
      describe: () => 'reference (plain TypeScript kernels, float64 accumulation)',
    };
  },
  async compileTraining(training, weights, options = {}) {
    const device = { kind: 'cpu', name: 'CPU' } as const;
    checkDevicePreference('reference', options, device);
    const guard = new DisposeGuard(training.graph.name);
    const held: WeightMap = new Map(weights);
    return {
      backend: 'reference',
      device,
      async step(inputs) {
        guard.check();
        return trainingStepOf(training, runReference(training.graph, held, inputs, options));
      },
      setWeights(values) {
        for (const [key, t] of checkWeightUpdate(held, values)) held.set(key, t);
      },
      dispose() {
        guard.dispose();
      },
      describe: () => 'reference (plain TypeScript kernels, float64 accumulation)',
    };
  },
};
