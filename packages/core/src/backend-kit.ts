import type { CompileOptions, RunDevice, TrainingStep } from './backend.js';
import { BackendUnavailableError, formatShape, InputError } from './errors.js';
import type { TrainingGraph } from './grad/training-graph.js';
import type { Graph, TensorSpec, WeightMap } from './ir/graph.js';
import { foldBatchNorm } from './passes/fold-batchnorm.js';
import { removeIdentities } from './passes/remove-identities.js';
import { shapeSize, type Tensor } from './tensor.js';

/**
 * What every backend's compile() shares, written once: the pre-passes, and the guard that a
 * disposed model refuses to run. (Input checks are `checkInput`; a parameter without a value is
 * `requireParam`'s typed error; a runtime that cannot load is a `BackendUnavailableError`.)
 */

/**
 * The graph every backend lowers: BatchNorm folded into the convs before it (unless
 * `foldBatchNorm: false`, as an ONNX export that keeps the BatchNorm nodes asks), identities removed.
 */
export function prepareForInference(
  graph: Graph,
  weights: WeightMap,
  options: { foldBatchNorm?: boolean } = {},
): { graph: Graph; weights: WeightMap } {
  const folded = (options.foldBatchNorm ?? true) ? foldBatchNorm(graph, weights) : { graph, weights };
  return { graph: removeIdentities(folded.graph), weights: folded.weights };
}

/** A compiled model's disposed state: `check()` before each run, `dispose()` true only the first time. */
export class DisposeGuard {
  private disposed = false;
  constructor(private readonly model: string) {}

  check(): void {
    if (this.disposed)
      throw new InputError(`model '${this.model}' was disposed and cannot run again; compile it anew`);
  }

  /** Marks the model disposed; returns whether this call did it (so resources are freed once). */
  dispose(): boolean {
    if (this.disposed) return false;
    this.disposed = true;
    return true;
  }
}

/**
 * Refuses a device preference a backend cannot meet: `device: 'gpu'` of a backend that runs on
 * the CPU (or the reverse) is a BackendUnavailableError naming both, not a silent fallback.
 */
export function checkDevicePreference(backend: string, options: CompileOptions, runs: RunDevice): void {
  const wanted = options.device ?? 'auto';
  if (wanted !== 'auto' && wanted !== runs.kind)
    throw new BackendUnavailableError(
      `${backend}: device '${wanted}' was asked for, but it runs on the ${runs.kind} here (${runs.name})`,
    );
}

/** Whether a compiled graph takes any batch size: a single input, unless `batch: 'fixed'`. */
export function batchIsFree(inputs: number, options: CompileOptions): boolean {
  return inputs === 1 && options.batch !== 'fixed';
}

/**
 * Where every backend's compile() starts: the device it runs on meets the preference, then the
 * graph it lowers (BatchNorm folded, identities removed).
 */
export function prepareToCompile(
  backend: string,
  graph: Graph,
  weights: WeightMap,
  options: CompileOptions,
  runs: RunDevice,
): { graph: Graph; weights: WeightMap } {
  checkDevicePreference(backend, options, runs);
  return prepareForInference(graph, weights);
}

/** Each of the graph's inputs checked against its spec, in the graph's order (see `checkInput`). */
export function checkFeeds(
  specs: readonly TensorSpec[],
  inputs: Readonly<Record<string, Tensor>>,
  batchFree: boolean,
): Tensor[] {
  return specs.map((spec) => checkInput(spec, inputs[spec.name], { batchFree }));
}

/**
 * Checks one input against its spec: present, the spec's rank and shape (with a free batch
 * dimension when `batchFree`: backends that compile once for any batch size), and as many
 * values as its shape holds. Returns the tensor.
 */
export function checkInput(
  spec: TensorSpec,
  t: Tensor | undefined,
  options: { batchFree?: boolean } = {},
): Tensor {
  const batchFree = options.batchFree ?? false;
  if (!t) throw new InputError(`missing input '${spec.name}' (expected shape ${formatShape(spec.shape)})`);
  const ok =
    t.shape.length === spec.shape.length &&
    t.shape.every((d, i) => d === spec.shape[i] || (i === 0 && batchFree && d > 0));
  if (!ok)
    throw new InputError(
      `input '${spec.name}': expected shape ${formatShape(spec.shape)}${batchFree ? ' (any batch size)' : ''}, got ${formatShape(t.shape)}`,
    );
  if (t.data.length !== shapeSize(t.shape)) {
    throw new InputError(`input '${spec.name}': shape ${formatShape(t.shape)} but ${t.data.length} values`);
  }
  return t;
}

/** A training graph's outputs by tensor name, sorted into a TrainingStep. */
export function trainingStepOf(
  training: TrainingGraph,
  outputs: Readonly<Record<string, Tensor>>,
): TrainingStep {
  const get = (name: string): Tensor => {
    const t = outputs[name];
    if (!t) throw new InputError(`training step: output '${name}' was not computed`);
    return t;
  };
  const byKey = (m: ReadonlyMap<string, string>): WeightMap =>
    new Map([...m].map(([key, name]) => [key, get(name)]));
  return {
    loss: get(training.loss).data[0]!,
    output: get(training.output),
    grads: byKey(training.gradients),
    running: byKey(training.running),
  };
}

/**
 * Checks an update against the weights a training executable holds: known keys, the same
 * shapes. Returns the checked entries.
 */
export function checkWeightUpdate(held: ReadonlyMap<string, Tensor>, values: WeightMap): [string, Tensor][] {
  return [...values].map(([key, t]) => {
    const cur = held.get(key);
    if (!cur) throw new InputError(`setWeights: '${key}' is not a parameter or buffer of this model`);
    if (cur.shape.length !== t.shape.length || cur.shape.some((d, i) => d !== t.shape[i]))
      throw new InputError(
        `setWeights: '${key}' has shape ${formatShape(cur.shape)}, got ${formatShape(t.shape)}`,
      );
    return [key, t];
  });
}
