import { availableParallelism } from 'node:os';
import {
  type Backend,
  type CompileOptions,
  defaultPreprocess,
  type Executable,
  type Graph,
  type PreprocessConfig,
  randomWeightsFields,
  type Tensor,
  UsageError,
  type WeightMap,
} from '@cardinal/core';
import { type BatcherOptions, DynamicBatcher } from './batcher.js';
import type { SharedBufferPool } from './buffer-pool.js';

/** What the server is given for one model. */
export interface ModelEntry {
  /** The name in the routes (/v2/models/{name}). */
  name: string;
  graph: Graph;
  weights: WeightMap;
  backend: Backend;
  compile?: CompileOptions;
  /** The image route's transform; ImageNet's defaults at the graph's input size otherwise. */
  preprocess?: PreprocessConfig;
  labels?: readonly string[];
  /** The weights are an initialisation: every response says so (RANDOM_WEIGHTS_WARNING). */
  randomWeights?: boolean;
  batching?: Partial<BatcherOptions>;
  /**
   * Copies of the compiled model that run batches at the same time (default 1). On a CPU, two
   * single-threaded sessions keep both cores busy through the server's own work, where one
   * two-threaded session stalls at every operator whenever another thread runs. Without
   * `compile.threads`, each replica gets the cores divided among the replicas.
   */
  replicas?: number;
}

/**
 * A served model from an opened one (pretrained's openModel): its graph and weights, and the
 * transform and labels its weights were made with, so the image route answers as
 * `classifyFiles` does on the same images.
 */
export function modelEntry(
  opened: {
    graph: Graph;
    weights: WeightMap;
    preprocess: PreprocessConfig;
    labels?: readonly string[];
    description?: { weights: 'file' | 'embedded' | 'initialised' };
  },
  backend: Backend,
  name: string,
): ModelEntry {
  return {
    name,
    graph: opened.graph,
    weights: opened.weights,
    backend,
    preprocess: opened.preprocess,
    ...(opened.labels ? { labels: opened.labels } : {}),
    ...(opened.description?.weights === 'initialised' ? { randomWeights: true } : {}),
  };
}

export const DEFAULT_BATCHING: Omit<BatcherOptions, 'onBatch'> = {
  maxBatch: 8,
  maxDelayMs: 5,
  maxQueue: 256,
};

/** A model compiled on its backend, with its batcher, as the routes use it. */
export class ServedModel {
  readonly name: string;
  readonly graph: Graph;
  readonly preprocess: PreprocessConfig;
  readonly labels: readonly string[] | undefined;
  readonly platform: string;
  /** What every JSON answer adds when the weights are an initialisation (randomWeightsFields). */
  readonly randomMark: { random_weights?: true; warning?: string };
  readonly batcher: DynamicBatcher;
  private constructor(
    entry: ModelEntry,
    private readonly exes: readonly Executable[],
    onBatch: (model: string, samples: number, seconds: number) => void,
    pool: SharedBufferPool | undefined,
  ) {
    this.name = entry.name;
    this.graph = entry.graph;
    const [, c, h, w] = entry.graph.inputs[0]!.shape as number[];
    this.preprocess = entry.preprocess ?? defaultPreprocess(c === 1 ? 1 : 3, [h!, w!]);
    this.labels = entry.labels;
    this.platform = `cardinal_${entry.backend.name}`;
    this.randomMark = randomWeightsFields(entry.randomWeights);
    const input = entry.graph.inputs[0]!.name;
    // The batcher hands each batch to a replica of its choosing.
    const runners = exes.map((exe) => (x: Tensor) => exe.run({ [input]: x }));
    this.batcher = new DynamicBatcher(runners, {
      ...DEFAULT_BATCHING,
      ...entry.batching,
      onBatch: (samples, seconds) => onBatch(this.name, samples, seconds),
      ...(pool ? { pool } : {}),
    });
  }

  static async load(
    entry: ModelEntry,
    onBatch: (model: string, samples: number, seconds: number) => void,
    pool?: SharedBufferPool,
  ): Promise<ServedModel> {
    const replicas = entry.replicas ?? 1;
    if (!Number.isSafeInteger(replicas) || replicas < 1)
      throw new UsageError(`serve: ${entry.name}: replicas must be a positive integer, got ${replicas}`);
    // A server reads and writes requests between runs: runtime threads that spin while idle
    // (ONNX Runtime's default) would take the cores that work needs. Backends without these
    // options ignore them.
    // onnxruntime-node runs a session on the calling thread, blocking the event loop for a whole
    // run: in a worker thread, health probes, metrics and new requests are answered meanwhile.
    // Replicas share the cores unless told otherwise.
    const shared =
      replicas > 1 ? { threads: Math.max(1, Math.floor(availableParallelism() / replicas)) } : {};
    const compile: CompileOptions = { idleThreads: 'sleep', worker: true, ...shared, ...entry.compile };
    const exes: Executable[] = [];
    try {
      for (let i = 0; i < replicas; i++)
        exes.push(await entry.backend.compile(entry.graph, entry.weights, compile));
    } catch (e) {
      for (const exe of exes) exe.dispose();
      throw e;
    }
    return new ServedModel(entry, exes, onBatch, pool);
  }

  /** How many copies of the model run batches at the same time. */
  get replicas(): number {
    return this.exes.length;
  }

  infer(x: Tensor): Promise<Record<string, Tensor>> {
    return this.batcher.submit(x);
  }

  /** The protocol's model metadata: -1 for the batch dimension. */
  metadata(): Record<string, unknown> {
    const t = (name: string) => ({
      name,
      datatype: 'FP32',
      shape: [-1, ...this.graph.tensors[name]!.shape.slice(1)],
    });
    return {
      name: this.name,
      versions: ['1'],
      platform: this.platform,
      inputs: this.graph.inputs.map((i) => t(i.name)),
      outputs: this.graph.outputs.map(t),
      ...(this.randomMark.random_weights ? { parameters: this.randomMark } : {}),
    };
  }

  describe(): string {
    const one = this.exes[0]!.describe();
    return this.exes.length > 1 ? `${one}, ${this.exes.length} replicas` : one;
  }

  dispose(): void {
    for (const exe of this.exes) exe.dispose();
  }
}
