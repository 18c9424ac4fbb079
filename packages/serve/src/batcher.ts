import { RequestError, type Tensor, UsageError } from '@cardinal/core';
import { BatchSizeTuner } from './batch-size.js';
import type { SharedBufferPool } from './buffer-pool.js';

/** The queue is full: answer 503 with Retry-After instead of growing without limit. */
export class QueueFullError extends RequestError {
  constructor(message: string) {
    super(503, message);
  }
}

/**
 * One replica of the model: runs a batch ([n, ...], the model's input) to its outputs. Calls
 * handed to it while one runs are run after it, in order (the batcher's timing assumes so).
 */
export type BatchRunner = (x: Tensor) => Promise<Record<string, Tensor>>;

export interface BatcherOptions {
  /** Samples in one backend call, at most (a request larger than this runs alone). 1 turns batching off. */
  maxBatch: number;
  /**
   * How long the first request of a batch waits for others, when others are on their way
   * (announced, not yet submitted). With none arriving an idle backend starts at once: a lone
   * client never pays the delay.
   */
  maxDelayMs: number;
  /** Requests waiting (not running), at most; past it, submit throws QueueFullError. */
  maxQueue: number;
  /**
   * Limit batches to the size, up to maxBatch, that the backend runs at the least time per
   * sample, as measured while serving (BatchSizeTuner); default true. Off: always up to maxBatch.
   */
  tune?: boolean;
  /** Called with each batch's size in samples, and its run time (not its wait behind another call). */
  onBatch?: (samples: number, seconds: number) => void;
  /** Where batches get their memory (reused across batches); fresh buffers otherwise. */
  pool?: SharedBufferPool;
}

interface Pending {
  x: Tensor;
  resolve: (outputs: Record<string, Tensor>) => void;
  reject: (e: unknown) => void;
}

function concat(parts: readonly Tensor[], pool: SharedBufferPool | undefined): Tensor {
  if (parts.length === 1) return parts[0]!;
  const n = parts.reduce((a, p) => a + p.shape[0]!, 0);
  // Shared memory: a backend that runs in a worker thread (backend-onnx's `worker`) reads the
  // batch there without a copy on the event loop.
  const bytes = parts.reduce((a, p) => a + p.data.byteLength, 0);
  const data = new Float32Array(pool ? pool.take(bytes) : new SharedArrayBuffer(bytes));
  let off = 0;
  for (const p of parts) {
    data.set(p.data, off);
    off += p.data.length;
  }
  return { shape: [n, ...parts[0]!.shape.slice(1)], data };
}

/** Rows [start, start + n) of a batch-first tensor. */
function rows(t: Tensor, start: number, n: number): Tensor {
  const per = t.data.length / t.shape[0]!;
  return { shape: [n, ...t.shape.slice(1)], data: t.data.slice(start * per, (start + n) * per) };
}

/**
 * Dynamic batching for one model: concurrent requests are gathered until the batch limit or
 * `maxDelayMs` after the first, run as one call, and the outputs split back. The limit is
 * `maxBatch`, or with `tune` the size the backend runs cheapest per sample. Several replicas
 * run a batch each at the same time. While every replica is busy, a full batch may follow a
 * running one into the backend (one behind each replica at most), so a replica starts it the
 * moment it is free instead of idling while the event loop answers the batch before and forms
 * the next; a partial batch waits and grows until a replica is free (it has waited already).
 */
export class DynamicBatcher {
  private readonly queue: Pending[] = [];
  private readonly runners: readonly BatchRunner[];
  /** Calls each replica holds (running, or queued behind its running one). */
  private readonly held: number[];
  /** When each replica's last call ended: a call queued behind it started running then. */
  private readonly lastDone: number[];
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];
  private arriving = 0;
  private readonly tuner: BatchSizeTuner | undefined;

  constructor(
    run: BatchRunner | readonly BatchRunner[],
    private readonly options: BatcherOptions,
  ) {
    this.runners = typeof run === 'function' ? [run] : run;
    if (this.runners.length === 0) throw new UsageError('DynamicBatcher: no replica to run batches on');
    this.held = this.runners.map(() => 0);
    this.lastDone = this.runners.map(() => 0);
    if (options.maxBatch > 1 && options.tune !== false) this.tuner = new BatchSizeTuner(options.maxBatch);
  }

  /** Requests waiting, not yet running. */
  get depth(): number {
    return this.queue.length;
  }

  /** The most samples a batch holds now (maxBatch, or what tuning found cheapest). */
  get batchLimit(): number {
    return this.tuner?.limit ?? this.options.maxBatch;
  }

  /** Run time per sample by batch size, as tuning measured it lately (empty without tuning). */
  sampleCosts(): Map<number, number> {
    return this.tuner?.measured() ?? new Map();
  }

  /** Runs `x` ([n, ...], the model's input) in some batch; resolves to its own rows of every output. */
  submit(x: Tensor): Promise<Record<string, Tensor>> {
    if (this.queue.length >= this.options.maxQueue)
      return Promise.reject(new QueueFullError(`queue full (${this.options.maxQueue} requests waiting)`));
    return new Promise((resolve, reject) => {
      this.queue.push({ x, resolve, reject });
      this.schedule();
    });
  }

  /** A request for this model has started arriving (its body is being read). */
  announce(): void {
    this.arriving++;
  }

  /** An announced request was submitted, or failed before it could be: it is no longer arriving. */
  withdraw(): void {
    this.arriving = Math.max(0, this.arriving - 1);
    if (this.arriving === 0 && this.timer) this.flush();
  }

  /** Resolves when nothing waits and nothing runs. */
  drained(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private queuedSamples(): number {
    let n = 0;
    for (const p of this.queue) n += p.x.shape[0]!;
    return n;
  }

  /** Of `queued` samples waiting, those a batch may take: one each is left for the other replicas. */
  private available(queued: number): number {
    return queued - (this.runners.length - 1);
  }

  private schedule(): void {
    if (this.queue.length === 0 || this.running >= 2 * this.runners.length) return;
    const queued = this.queuedSamples();
    const limit = this.tuner?.nextLimit(this.available(queued)) ?? this.options.maxBatch;
    const full = queued >= limit;
    // Behind running calls only a full batch goes; a partial one keeps gathering meanwhile.
    if (this.running >= this.runners.length) {
      if (full) this.flush();
      return;
    }
    if (limit <= 1 || this.arriving === 0 || full) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => this.flush(), this.options.maxDelayMs);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running >= 2 * this.runners.length || this.queue.length === 0) return;
    const limit = this.tuner?.formBatch(this.available(this.queuedSamples())) ?? this.options.maxBatch;
    const batch: Pending[] = [this.queue.shift()!];
    let samples = batch[0]!.x.shape[0]!;
    while (this.queue.length && samples + this.queue[0]!.x.shape[0]! <= limit) {
      const p = this.queue.shift()!;
      samples += p.x.shape[0]!;
      batch.push(p);
    }
    // The replica holding the fewest calls (the first of those): an idle one while there is one.
    let replica = 0;
    for (let r = 1; r < this.held.length; r++) if (this.held[r]! < this.held[replica]!) replica = r;
    this.held[replica]!++;
    this.running++;
    void this.execute(batch, samples, replica);
  }

  private async execute(batch: Pending[], samples: number, replica: number): Promise<void> {
    const handedOver = performance.now();
    const x = concat(
      batch.map((p) => p.x),
      this.options.pool,
    );
    try {
      const out = await this.runners[replica]!(x);
      // A replica runs its calls one after another, in order (backend-onnx's worker thread, a
      // session, a device queue): this one started when it was handed over, or when the call
      // before it on this replica ended, whichever came later.
      const done = performance.now();
      const seconds = (done - Math.max(handedOver, this.lastDone[replica]!)) / 1000;
      this.lastDone[replica] = done;
      this.tuner?.observe(samples, seconds);
      this.options.onBatch?.(samples, seconds);
      let start = 0;
      for (const p of batch) {
        const n = p.x.shape[0]!;
        const mine: Record<string, Tensor> = {};
        for (const [name, t] of Object.entries(out)) mine[name] = batch.length === 1 ? t : rows(t, start, n);
        p.resolve(mine);
        start += n;
      }
    } catch (e) {
      this.lastDone[replica] = performance.now();
      for (const p of batch) p.reject(e);
    } finally {
      // The batch's own memory (not a lone request's) is free once the run is over.
      if (batch.length > 1 && x.data.buffer instanceof SharedArrayBuffer)
        this.options.pool?.give(x.data.buffer);
      this.held[replica]!--;
      this.running--;
      // With a replica free, whatever waits goes now; with all busy, a full batch.
      if (this.running < this.runners.length && this.queue.length) this.flush();
      else if (this.queue.length) this.schedule();
      else if (this.running === 0) for (const r of this.idle.splice(0)) r();
    }
  }
}
