// The messages between a ParallelTrainer (parallel.ts) and its worker threads (parallel-worker.ts).
import type { CardinalErrorCode, Graph, Tensor, WeightMap } from '@cardinal/core';
import type { TrainerOptions } from './train.js';

/** What a worker is started with: the model, its weights and the trainer's options (runtime forced). */
export interface WorkerInit {
  graph: Graph;
  weights: WeightMap;
  options: TrainerOptions;
}

export type ToWorker =
  /** Forward and backward on this rank's share of the batch; answered with a `grads` message. */
  | { kind: 'step'; x: Tensor; labels: Int32Array }
  /** The optimiser step with the ranks' mean gradient, as every rank takes it. */
  | { kind: 'apply'; grads: Float32Array }
  | { kind: 'restore'; state: { tensors: Map<string, Tensor>; steps: number } }
  /** Answered with a `weights` message (the tests check that the replicas stay identical). */
  | { kind: 'weights' };

export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'grads'; loss: number; correct: number; grads: Float32Array }
  | { kind: 'weights'; weights: WeightMap }
  /** A Cardinal error keeps its code across the thread, so a user's mistake stays one. */
  | { kind: 'error'; message: string; code?: CardinalErrorCode };
