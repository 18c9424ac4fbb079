import type { Tensor } from '@cardinal/core';
import type { SharedBufferPool } from './buffer-pool.js';

/** The queue is full: answer 503 with Retry-After instead of growing without limit. */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
}

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
  /** Called with each batch's size in samples, and its time from handing it to the backend to its result. */
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
 * Calls handed to the backend at once: the one running, and a full batch behind it, so the
 * backend starts it the moment the first ends instead of idling while the event loop answers
 * the first batch's requests and forms the next.
 */
const MAX_IN_FLIGHT = 2;

/**
 * Dynamic batching for one model: concurrent requests are gathered until `maxBatch` samples or
 * `maxDelayMs` after the first, run as one call, and the outputs split back. While a call runs,
 * a full batch may follow it into the backend; a partial one waits and grows until the backend
 * is free (it has waited already).
 */
export class DynamicBatcher {
  private readonly queue: Pending[] = [];
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];
  private arriving = 0;

  constructor(
    private readonly run: (x: Tensor) => Promise<Record<string, Tensor>>,
    private readonly options: BatcherOptions,
  ) {}

  /** Requests waiting, not yet running. */
  get depth(): number {
    return this.queue.length;
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

  private schedule(): void {
    if (this.queue.length === 0 || this.running >= MAX_IN_FLIGHT) return;
    const full = this.queuedSamples() >= this.options.maxBatch;
    // Behind a running call only a full batch goes; a partial one keeps gathering meanwhile.
    if (this.running > 0) {
      if (full) this.flush();
      return;
    }
    if (this.options.maxBatch <= 1 || this.arriving === 0 || full) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => this.flush(), this.options.maxDelayMs);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running >= MAX_IN_FLIGHT || this.queue.length === 0) return;
    const batch: Pending[] = [this.queue.shift()!];
    let samples = batch[0]!.x.shape[0]!;
    while (this.queue.length && samples + this.queue[0]!.x.shape[0]! <= this.options.maxBatch) {
      const p = this.queue.shift()!;
      samples += p.x.shape[0]!;
      batch.push(p);
    }
    this.running++;
    void this.execute(batch, samples);
  }

  private async execute(batch: Pending[], samples: number): Promise<void> {
    const t0 = performance.now();
    const x = concat(
      batch.map((p) => p.x),
      this.options.pool,
    );
    try {
      const out = await this.run(x);
      this.options.onBatch?.(samples, (performance.now() - t0) / 1000);
      let start = 0;
      for (const p of batch) {
        const n = p.x.shape[0]!;
        const mine: Record<string, Tensor> = {};
        for (const [name, t] of Object.entries(out)) mine[name] = batch.length === 1 ? t : rows(t, start, n);
        p.resolve(mine);
        start += n;
      }
    } catch (e) {
      for (const p of batch) p.reject(e);
    } finally {
      // The batch's own memory (not a lone request's) is free once the run is over.
      if (batch.length > 1 && x.data.buffer instanceof SharedArrayBuffer)
        this.options.pool?.give(x.data.buffer);
      this.running--;
      // With the backend free, whatever waits goes now; with a call still running, a full batch.
      if (this.running === 0 && this.queue.length) this.flush();
      else if (this.queue.length) this.schedule();
      else if (this.running === 0) for (const r of this.idle.splice(0)) r();
    }
  }
}
