import type { Graph, OpName, WeightMap } from './ir/graph.js';
import type { Tensor } from './tensor.js';

/** Whether a backend can run here, and if not, why, in words. */
export interface Availability {
  available: boolean;
  reason?: string;
}

export interface CompileOptions {
  /** Called after each node with the count done, for progress bars. Backends may ignore it. */
  onProgress?: (done: number, total: number) => void;
}

/** A compiled model. `run` takes and returns NCHW float32 tensors by graph input/output name. */
export interface Executable {
  run(inputs: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>>;
  dispose(): void;
  /** What actually runs (runtime, device), for logs and the CLI. */
  describe(): string;
}

/**
 * The contract every backend package implements: a name, whether it runs here, the ops it
 * supports, and `compile`.
 */
export interface Backend<O extends CompileOptions = CompileOptions> {
  readonly name: string;
  isAvailable(): Promise<Availability>;
  readonly supportedOps: readonly OpName[];
  compile(graph: Graph, weights: WeightMap, options?: O): Promise<Executable>;
}
