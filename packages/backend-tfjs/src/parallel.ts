// Data-parallel training in Node: each batch is split over worker threads, each with its own
// tfjs runtime on its own core, as PyTorch's DistributedDataParallel without SyncBatchNorm splits
// it over processes. tfjs-wasm runs on one thread (Node has no threaded wasm build of it), so this
// is how training uses more than one core there.
//
// Semantics, rank for rank DDP's: rank r normalises its share with its own batch statistics; the
// gradient every rank applies is the mean of the ranks' gradients (summed in rank order, divided
// by the number of ranks, whatever the shares' sizes); each rank takes the same optimiser step,
// so the replicas stay identical; the BatchNorm running statistics are rank 0's (DDP broadcasts
// rank 0's buffers), and rank 0, on the calling thread, holds what is evaluated and saved.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  CardinalError,
  type Graph,
  InputError,
  InternalError,
  type Tensor,
  type WeightMap,
} from '@cardinal/core';
import type { BatchTrainer } from '@cardinal/train';
import type { FromWorker, ToWorker, WorkerInit } from './parallel-protocol.js';
import type { TfjsRuntimeName } from './runtime.js';
import { Trainer, type TrainerOptions } from './train.js';

/** A share smaller than this is not split off: train-mode BatchNorm needs more than one sample. */
const MIN_SHARE = 2;
/** Fewer samples than this per rank and `workers: 'auto'` uses fewer ranks. */
const AUTO_MIN_SHARE = 16;

export interface ParallelTrainerOptions extends TrainerOptions {
  /**
   * Ranks, counting the calling thread: 1 is a plain Trainer. 'auto' (default): one per core
   * where the runtime runs on one thread (wasm, cpu), keeping at least 16 samples per rank;
   * 1 on tfjs-node, whose kernels use every core already.
   */
  workers?: number | 'auto';
  /** The batch size, for 'auto'. */
  batchSize?: number;
  /** The cores 'auto' spreads over (default: os.availableParallelism()). */
  cores?: number;
}

/** The ranks 'auto' picks for a runtime, a batch size and a number of cores. */
export function autoRanks(
  runtime: TfjsRuntimeName,
  batchSize: number,
  cores = availableParallelism(),
): number {
  if (runtime !== 'wasm' && runtime !== 'cpu') return 1;
  return Math.max(1, Math.min(cores, Math.floor(batchSize / AUTO_MIN_SHARE)));
}

/** The compiled worker: beside this module in dist/, or in dist/ when this runs from its source (the tests). */
function workerUrl(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('../dist/parallel-worker.js', import.meta.url)
    : new URL('./parallel-worker.js', import.meta.url);
}

/**
 * The parent's Node options less its export conditions: the compiled worker imports the compiled
 * packages, even when the parent resolves the "source" condition (vitest runs the TypeScript).
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--conditions' || argv[i] === '-C') i++;
    else if (!/^(--conditions|-C)=/.test(argv[i]!)) out.push(argv[i]!);
  }
  return out;
}

/** A worker thread and the answers it has sent, taken in order. */
class Replica {
  private readonly inbox: FromWorker[] = [];
  private readonly waiting: { resolve: (m: FromWorker) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | undefined;

  constructor(private readonly worker: Worker) {
    worker.on('message', (m: FromWorker) => {
      if (m.kind === 'error')
        this.fail(
          m.code
            ? new CardinalError(m.code, `data-parallel worker: ${m.message}`)
            : new InternalError(`data-parallel worker: ${m.message}`),
        );
      else {
        const w = this.waiting.shift();
        if (w) w.resolve(m);
        else this.inbox.push(m);
      }
    });
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) =>
      this.fail(new InternalError(`data-parallel worker exited with code ${code}`)),
    );
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }

  post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  async next<K extends FromWorker['kind']>(kind: K): Promise<Extract<FromWorker, { kind: K }>> {
    const m =
      this.inbox.shift() ??
      (await new Promise<FromWorker>((resolve, reject) => {
        if (this.failure) reject(this.failure);
        else this.waiting.push({ resolve, reject });
      }));
    if (m.kind !== kind) throw new InternalError(`data-parallel worker: expected '${kind}', got '${m.kind}'`);
    return m as Extract<FromWorker, { kind: K }>;
  }

  async terminate(): Promise<void> {
    this.failure ??= new InternalError('data-parallel worker stopped');
    await this.worker.terminate();
  }
}

/** Samples [from, to) of a batch, copied (a view would carry its whole buffer to the worker). */
function share(x: Tensor, from: number, to: number): Tensor {
  const per = x.data.length / x.shape[0]!;
  return { shape: [to - from, ...x.shape.slice(1)], data: x.data.slice(from * per, to * per) };
}

/** A Trainer whose steps are spread over worker threads (see the top of this file). */
export class ParallelTrainer implements BatchTrainer {
  private constructor(
    /** Rank 0: the calling thread's trainer, whose weights and running statistics are the model's. */
    readonly local: Trainer,
    private readonly replicas: Replica[],
  ) {}

  static async create(
    graph: Graph,
    weights: WeightMap,
    options: ParallelTrainerOptions = {},
  ): Promise<ParallelTrainer> {
    const { workers = 'auto', batchSize, cores, ...trainerOptions } = options;
    if (workers !== 'auto' && (!Number.isInteger(workers) || workers < 1 || workers > 256))
      throw new InputError(`workers must be 'auto' or a whole number from 1 to 256, got ${workers}`);
    const local = await Trainer.create(graph, weights, trainerOptions);
    const ranks = workers === 'auto' ? autoRanks(local.runtime.runtime, batchSize ?? 0, cores) : workers;
    // The replicas run the runtime rank 0 chose, so that every rank computes alike.
    // Each rank draws its own DropPath / DropBlock masks, as each DDP process does.
    const initOf = (rank: number): WorkerInit => ({
      graph,
      weights,
      options: {
        ...trainerOptions,
        runtime: local.runtime.runtime,
        dropSeed: (trainerOptions.dropSeed ?? 0) + rank,
      },
    });
    const replicas = Array.from(
      { length: ranks - 1 },
      (_, i) =>
        new Replica(new Worker(workerUrl(), { workerData: initOf(i + 1), execArgv: workerExecArgv() })),
    );
    try {
      await Promise.all(replicas.map((r) => r.next('ready')));
    } catch (e) {
      local.dispose();
      await Promise.all(replicas.map((r) => r.terminate()));
      throw e;
    }
    return new ParallelTrainer(local, replicas);
  }

  /** The number of ranks, this thread included. */
  get ranks(): number {
    return this.replicas.length + 1;
  }

  describe(): string {
    const dp =
      this.ranks > 1
        ? `, data-parallel over ${this.ranks} threads (BatchNorm statistics per thread, as DistributedDataParallel without SyncBatchNorm)`
        : '';
    return `${this.local.describe()}${dp}`;
  }

  async trainBatch(x: Tensor, labels: Int32Array): Promise<{ loss: number; correct: number }> {
    const n = labels.length;
    const ranks = Math.max(1, Math.min(this.ranks, Math.floor(n / MIN_SHARE)));
    if (this.ranks === 1) return this.local.trainBatch(x, labels);
    // Shares as even as they go; the first n % ranks one sample larger.
    const bounds = [0];
    for (let r = 0; r < ranks; r++) bounds.push(bounds[r]! + Math.floor(n / ranks) + (r < n % ranks ? 1 : 0));
    for (let r = 1; r < ranks; r++)
      this.replicas[r - 1]!.post({
        kind: 'step',
        x: share(x, bounds[r]!, bounds[r + 1]!),
        labels: labels.slice(bounds[r]!, bounds[r + 1]!),
      });
    const own = await this.local.computeGradients(share(x, 0, bounds[1]!), labels.subarray(0, bounds[1]!));
    const theirs = await Promise.all(this.replicas.slice(0, ranks - 1).map((r) => r.next('grads')));
    const all = [own, ...theirs];
    const mean = new Float32Array(own.grads.length);
    for (let i = 0; i < mean.length; i++) {
      let sum = 0;
      for (const r of all) sum += r.grads[i]!;
      mean[i] = sum / ranks;
    }
    // Every rank takes the step, those without a share of this batch too.
    for (const replica of this.replicas) replica.post({ kind: 'apply', grads: mean });
    this.local.applyGradients(mean);
    let loss = 0;
    let correct = 0;
    for (const [r, result] of all.entries()) {
      loss += result.loss * (bounds[r + 1]! - bounds[r]!);
      correct += result.correct;
    }
    return { loss: loss / n, correct };
  }

  learningRate(): number {
    return this.local.learningRate();
  }

  predict(x: Tensor): Promise<Tensor> {
    return this.local.predict(x);
  }

  weights(): Promise<WeightMap> {
    return this.local.weights();
  }

  /** The weights each replica holds (for checking that they stay rank 0's). */
  async replicaWeights(): Promise<WeightMap[]> {
    for (const r of this.replicas) r.post({ kind: 'weights' });
    return Promise.all(this.replicas.map(async (r) => (await r.next('weights')).weights));
  }

  optimizerState(): Promise<{ tensors: Map<string, Tensor>; steps: number }> {
    return this.local.optimizerState();
  }

  restoreOptimizerState(state: { tensors: ReadonlyMap<string, Tensor>; steps: number }): void {
    this.local.restoreOptimizerState(state);
    for (const r of this.replicas)
      r.post({ kind: 'restore', state: { tensors: new Map(state.tensors), steps: state.steps } });
  }

  async dispose(): Promise<void> {
    this.local.dispose();
    await Promise.all(this.replicas.map((r) => r.terminate()));
  }
}
