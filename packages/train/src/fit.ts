// The epoch loop: shuffled batches through any BatchTrainer (a GraphTrainer on any backend, backend-tfjs's own), the held-out accuracy after each epoch.
// The data order depends only on the seed, the epoch and the step, so a run resumed after epoch
// k continues exactly as the uninterrupted run (with the optimiser state restored).
import { ClassificationMetrics, type EpochRow, permutation, type TrainData } from '@cardinal/core';
import type { BatchTrainer } from './batch-trainer.js';

export interface FitProgress {
  epoch: number;
  /** Steps done in this epoch, and its total. */
  step: number;
  steps: number;
  /** Mean loss and accuracy of the epoch so far. */
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
}

export interface FitOptions {
  /** The last epoch to train (counting from 1). */
  epochs: number;
  batchSize: number;
  /** Decides the order of each epoch and each batch's augmentation. */
  seed: number;
  /** The samples of `data` to learn from. */
  trainIndices: Int32Array;
  /** The held-out samples (of `valData`, default `data`), measured after each epoch. */
  valIndices: Int32Array;
  valData?: TrainData;
  /** Where to start (a resumed run: the epoch after its checkpoint). Default 1. */
  firstEpoch?: number;
  onStep?: (p: FitProgress) => void;
  /** After each epoch (a checkpoint, a metrics line); awaited before the next epoch starts. */
  onEpoch?: (row: EpochRow) => Promise<void> | void;
  /**
   * Asked between steps, after the event loop has turned (so a signal handler has run): a
   * reason stops the run with a FitStopped error.
   */
  stopRequested?: () => string | undefined;
}

/** A run stopped on request between steps; `epoch` is the one left unfinished. */
export class FitStopped extends Error {
  constructor(
    readonly reason: string,
    readonly epoch: number,
  ) {
    super(`stopped by ${reason} in epoch ${epoch}`);
    this.name = 'FitStopped';
  }
}

/** Yields to the event loop (setImmediate in Node; a zero timeout in browsers, which lack it). */
const turnEventLoop = (): Promise<void> =>
  new Promise((resolve) =>
    typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0),
  );

/** Top-1 accuracy of the trainer's model (evaluation mode) on the given samples. */
export async function heldOutAccuracy(
  trainer: BatchTrainer,
  data: TrainData,
  indices: Int32Array,
  batchSize: number,
): Promise<number> {
  let metrics: ClassificationMetrics | undefined;
  for (let i = 0; i < indices.length; i += batchSize) {
    const b = data.eval(indices.subarray(i, i + batchSize));
    const y = await trainer.predict(b);
    metrics ??= new ClassificationMetrics(y.shape[1]!);
    metrics.add(y.data, b.labels);
  }
  return metrics ? metrics.report().top1 : 0;
}

/**
 * Trains epochs `firstEpoch..epochs`: each epoch visits `trainIndices` in the seed's order for
 * that epoch, in batches of `batchSize` (the last one smaller), each augmented with its own
 * seed. Returns a row per epoch trained.
 */
export async function fit(trainer: BatchTrainer, data: TrainData, options: FitOptions): Promise<EpochRow[]> {
  const { batchSize: batch, seed, trainIndices, valIndices } = options;
  const rows: EpochRow[] = [];
  for (let epoch = options.firstEpoch ?? 1; epoch <= options.epochs; epoch++) {
    const learningRate = trainer.learningRate();
    const order = permutation(trainIndices.length, seed + epoch);
    const steps = Math.ceil(order.length / batch);
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) {
      const idx = Int32Array.from(order.subarray(s * batch, (s + 1) * batch), (i) => trainIndices[i]!);
      const b = data.train(idx, seed * 1_000_003 + epoch * 10_007 + s);
      const r = await trainer.trainBatch(b, b.labels);
      // A step resolves without leaving the microtask queue: turn the event loop so that a
      // signal (and anything else queued) is handled between steps.
      await turnEventLoop();
      const stop = options.stopRequested?.();
      if (stop) throw new FitStopped(stop, epoch);
      lossSum += r.loss * idx.length;
      correct += r.correct;
      seen += idx.length;
      options.onStep?.({
        epoch,
        step: s + 1,
        steps,
        loss: lossSum / seen,
        accuracy: correct / seen,
        imagesPerSecond: (seen / (performance.now() - t0)) * 1000,
      });
    }
    const valAccuracy = await heldOutAccuracy(trainer, options.valData ?? data, valIndices, batch);
    const row: EpochRow = {
      epoch,
      loss: lossSum / seen,
      trainAccuracy: correct / seen,
      valAccuracy,
      imagesPerSecond: (seen / (performance.now() - t0)) * 1000,
      learningRate,
    };
    rows.push(row);
    await options.onEpoch?.(row);
  }
  return rows;
}
