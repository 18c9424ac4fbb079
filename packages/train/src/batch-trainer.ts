import type { Tensor, WeightMap } from '@cardinal/core';

/**
 * What fit() drives: any backend's GraphTrainer, or backend-tfjs's Trainer and ParallelTrainer
 * (its own tape, and data-parallel worker threads).
 */
export interface BatchTrainer {
  /** One optimiser step on a batch with cross-entropy; the batch's mean loss and correct count. */
  trainBatch(x: Tensor, labels: Int32Array): Promise<{ loss: number; correct: number }>;
  /** The learning rate the next step takes. */
  learningRate(): number;
  /** Eval-mode forward (running statistics). */
  predict(x: Tensor): Promise<Tensor>;
  /** Parameters and buffers by state_dict key. */
  weights(): Promise<WeightMap>;
  optimizerState(): Promise<{ tensors: Map<string, Tensor>; steps: number }>;
  restoreOptimizerState(state: { tensors: ReadonlyMap<string, Tensor>; steps: number }): void;
  describe(): string;
  dispose(): void | Promise<void>;
}
