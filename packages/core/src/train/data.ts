// The contract between training data and a training loop: batches by sample index, augmented
// (seeded) for learning and plain for measuring, and the record each epoch leaves.
import type { Tensor } from '../tensor.js';

/** A batch of inputs [N, ...] with its class labels [N]. */
export interface Batch extends Tensor {
  labels: Int32Array;
}

/** What training reads: augmented batches to learn from, plain ones to measure with. */
export interface TrainData {
  count: number;
  classes: string[];
  /** [C, H, W] of one input. */
  shape: [number, number, number];
  /** A training batch, augmented as the data asks (seeded: the same seed, the same batch). */
  train(indices: Int32Array, seed: number): Batch;
  /** An evaluation batch: no augmentation, the model's own preprocessing. */
  eval(indices: Int32Array): Batch;
}

/** One epoch of a training run, as metrics.jsonl records it. */
export interface EpochRow {
  epoch: number;
  /** Mean training loss over the epoch's samples. */
  loss: number;
  trainAccuracy: number;
  /** Top-1 on the held-out samples after the epoch. */
  valAccuracy: number;
  imagesPerSecond: number;
  /** The rate of the epoch's first step. */
  learningRate: number;
}
