import type { TrainingGraph } from './grad/training-graph.js';
import type { Graph, OpName, WeightMap } from './ir/graph.js';
import type { Tensor } from './tensor.js';

/** Whether a backend can run here, and if not, why, in words. */
export interface Availability {
  available: boolean;
  reason?: string;
}

/** Where a compiled model should run: the runtime's choice, or a kind of device insisted on. */
export type DevicePreference = 'auto' | 'cpu' | 'gpu';

/**
 * The options every backend understands. A backend honours each where its runtime has the
 * knob and documents where it does not (the reference executor has no threads); options that
 * only one runtime knows are a typed extension of this interface in that backend's package.
 */
export interface CompileOptions {
  /** Called after each node with the count done, for progress bars. Backends may ignore it. */
  onProgress?: (done: number, total: number) => void;
  /** Threads one run may use (ONNX Runtime's intra-op threads); default: the runtime's own choice. */
  threads?: number;
  /** 'cpu' or 'gpu' insists on that kind of device (refused when there is none); 'auto' (default) takes the best here. */
  device?: DevicePreference;
  /**
   * Run off the calling thread, where the runtime would otherwise block it for a whole run
   * (onnxruntime-node): a server's event loop stays free. Backends that never block ignore it.
   */
  worker?: boolean;
  /** 'any' (default): a single-input model takes any batch size; 'fixed': only the graph's own. */
  batch?: 'any' | 'fixed';
  /**
   * Whether idle runtime threads spin waiting for work (fast when runs come back to back) or
   * sleep (right when the process does other work between runs: a server, a decoder).
   */
  idleThreads?: 'spin' | 'sleep';
}

/** The device a compiled model runs on, as typed fields (not text to parse). */
export interface RunDevice {
  kind: 'cpu' | 'gpu';
  /** The runtime's own name for it: `CPU`, `CUDA`, the WebGPU adapter's description. */
  name: string;
}

/** A compiled model. `run` takes and returns NCHW float32 tensors by graph input/output name. */
export interface Executable {
  /** The name of the backend that compiled it (`Backend.name`). */
  readonly backend: string;
  readonly device: RunDevice;
  run(inputs: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>>;
  dispose(): void;
  /** What actually runs (runtime, device) in words, for logs; decisions read `backend` and `device`. */
  describe(): string;
}

/**
 * The contract every backend package implements: a name, whether it runs here, the ops it
 * supports, and `compile`. `O` is the backend's own options, an extension of CompileOptions.
 */
export interface Backend<O extends CompileOptions = CompileOptions> {
  readonly name: string;
  isAvailable(): Promise<Availability>;
  readonly supportedOps: readonly OpName[];
  compile(graph: Graph, weights: WeightMap, options?: O): Promise<Executable>;
  /**
   * Compiles a training graph (core's `trainingGraph`): the weights are the starting values of
   * every parameter and buffer; the executable keeps them and runs one step per call. Absent on
   * a backend that does not train yet.
   */
  compileTraining?(training: TrainingGraph, weights: WeightMap, options?: O): Promise<TrainingExecutable>;
}

/** What one training step computes: the optimiser (in @cardinal/train) decides what to do with it. */
export interface TrainingStep {
  loss: number;
  /** The model's output for the batch, in training mode. */
  output: Tensor;
  /** The gradient of every trainable parameter, by state_dict key. */
  grads: WeightMap;
  /** BatchNorm's new running_mean and running_var, by state_dict key (num_batches_tracked is the caller's). */
  running: WeightMap;
}

/** A compiled training graph: steps with the weights it holds, which the caller replaces between steps. */
export interface TrainingExecutable {
  readonly backend: string;
  readonly device: RunDevice;
  /** One forward and backward pass. Inputs: the model's, and the loss's (`targets` or `loss_weights`). */
  step(inputs: Readonly<Record<string, Tensor>>): Promise<TrainingStep>;
  /** Replaces the values of some parameters or buffers (an optimiser's update), by state_dict key. */
  setWeights(values: WeightMap): void;
  dispose(): void;
  describe(): string;
}
