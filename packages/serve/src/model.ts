import {
  type Backend,
  type CompileOptions,
  defaultPreprocess,
  type Executable,
  type Graph,
  type PreprocessConfig,
  type Tensor,
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
  batching?: Partial<BatcherOptions>;
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
  readonly batcher: DynamicBatcher;
  private constructor(
    entry: ModelEntry,
    private readonly exe: Executable,
    onBatch: (model: string, samples: number, seconds: number) => void,
    pool: SharedBufferPool | undefined,
  ) {
    this.name = entry.name;
    this.graph = entry.graph;
    const [, c, h, w] = entry.graph.inputs[0]!.shape as number[];
    this.preprocess = entry.preprocess ?? defaultPreprocess(c === 1 ? 1 : 3, [h!, w!]);
    this.labels = entry.labels;
    this.platform = `cardinal_${entry.backend.name}`;
    const input = entry.graph.inputs[0]!.name;
    this.batcher = new DynamicBatcher((x) => this.exe.run({ [input]: x }), {
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
    // A server reads and writes requests between runs: runtime threads that spin while idle
    // (ONNX Runtime's default) would take the cores that work needs. Backends without the
    // option ignore it.
    // onnxruntime-node runs a session on the calling thread, blocking the event loop for a whole
    // run: in a worker thread, health probes, metrics and new requests are answered meanwhile.
    const compile = { allowSpinning: false, worker: true, ...entry.compile } as CompileOptions;
    const exe = await entry.backend.compile(entry.graph, entry.weights, compile);
    return new ServedModel(entry, exe, onBatch, pool);
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
    };
  }

  describe(): string {
    return this.exe.describe();
  }

  dispose(): void {
    this.exe.dispose();
  }
}
