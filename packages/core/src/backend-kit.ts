import { InputError } from './errors.js';
import type { Graph, WeightMap } from './ir/graph.js';
import { foldBatchNorm } from './passes/fold-batchnorm.js';
import { removeIdentities } from './passes/remove-identities.js';

/**
 * What every backend's compile() shares, written once: the pre-passes, and the guard that a
 * disposed model refuses to run. (Input checks are `checkInput`; a parameter without a value is
 * `requireParam`'s typed error; a runtime that cannot load is a `BackendUnavailableError`.)
 */

/** The graph a backend lowers: BatchNorm folded into the convs before it, identities removed. */
export function prepareForInference(graph: Graph, weights: WeightMap): { graph: Graph; weights: WeightMap } {
  const folded = foldBatchNorm(graph, weights);
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
