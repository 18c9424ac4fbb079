import type { Tensor } from '@cardinal/core';
import { describe, expect, it } from 'vitest';
import { BatchSizeTuner } from '../src/batch-size.js';
import { DynamicBatcher } from '../src/batcher.js';
import { SharedBufferPool } from '../src/buffer-pool.js';

/**
 * The batcher against a backend that doubles its input and takes 20 ms a call, recording how
 * many calls it holds at once and how large each is.
 */
function doublingBackend() {
  const calls: { samples: number; inFlight: number }[] = [];
  let inFlight = 0;
  const run = async (x: Tensor) => {
    inFlight++;
    calls.push({ samples: x.shape[0]!, inFlight });
    // Copy before the wait, as a worker does at the start of its run.
    const y = x.data.map((v) => v * 2);
    await new Promise((r) => setTimeout(r, 20));
    inFlight--;
    return { y: { shape: x.shape, data: y } };
  };
  return { calls, run };
}

/**
 * One replica as a worker thread is: calls handed to it run one after another, 20 ms each,
 * doubling the input. Records each call's size, the calls it held when handed one, and when it ran.
 */
function serialReplica() {
  const calls: { samples: number; held: number; start: number; end: number }[] = [];
  let held = 0;
  let tail: Promise<unknown> = Promise.resolve();
  const run = (x: Tensor) => {
    held++;
    const samples = x.shape[0]!;
    const heldNow = held;
    const y = x.data.map((v) => v * 2);
    const result = tail.then(async () => {
      const start = performance.now();
      await new Promise((r) => setTimeout(r, 20));
      calls.push({ samples, held: heldNow, start, end: performance.now() });
      held--;
      return { y: { shape: x.shape, data: y } };
    });
    tail = result;
    return result;
  };
  return { calls, run };
}

const one = (v: number): Tensor => ({ shape: [1, 3], data: new Float32Array([v, v + 0.5, -v]) });

describe('DynamicBatcher', () => {
  it('hands a full batch to a busy backend, holds a partial one, and splits every answer back to its request', async () => {
    const { calls, run } = doublingBackend();
    const pool = new SharedBufferPool(1 << 20);
    const batcher = new DynamicBatcher(run, { maxBatch: 4, maxDelayMs: 5, maxQueue: 100, pool });
    // 4 at once: one full batch runs; 4 more while it runs: a full batch goes behind it; then 2
    // more: a partial batch, which waits for the backend to be free.
    // The first four are announced as arriving (as the server does while reading bodies), so the
    // idle backend waits for them rather than starting on the first alone.
    for (let i = 0; i < 4; i++) batcher.announce();
    const first = [0, 1, 2, 3].map((i) => {
      const answer = batcher.submit(one(i));
      batcher.withdraw();
      return answer;
    });
    await new Promise((r) => setTimeout(r, 1));
    const second = [4, 5, 6, 7].map((i) => batcher.submit(one(i)));
    const third = [8, 9].map((i) => batcher.submit(one(i)));
    const answers = await Promise.all([...first, ...second, ...third]);
    for (const [i, a] of answers.entries()) expect(Array.from(a.y!.data)).toEqual([2 * i, 2 * i + 1, -2 * i]);
    expect(calls).toEqual([
      { samples: 4, inFlight: 1 },
      { samples: 4, inFlight: 2 },
      { samples: 2, inFlight: 1 },
    ]);
    await batcher.drained();
    // Batches reuse the pool's memory: a second round of the same sizes is answered as right.
    const again = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => batcher.submit(one(10 + i))));
    for (const [i, a] of again.entries())
      expect(Array.from(a.y!.data)).toEqual([2 * (10 + i), 2 * (10 + i) + 1, -2 * (10 + i)]);
  });

  it('never holds more than two calls in the backend, with batching off under a flood', async () => {
    const { calls, run } = doublingBackend();
    const batcher = new DynamicBatcher(run, { maxBatch: 1, maxDelayMs: 5, maxQueue: 100 });
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => batcher.submit(one(i))));
    for (const [i, a] of answers.entries()) expect(a.y!.data[0]).toBe(2 * i);
    expect(calls).toHaveLength(12);
    expect(Math.max(...calls.map((c) => c.inFlight))).toBe(2);
  });
});

describe('DynamicBatcher with replicas', () => {
  it('runs a batch on each replica at once, one full batch behind each at most, and reports run time without the wait', async () => {
    const replicas = [serialReplica(), serialReplica()];
    const reported: number[] = [];
    const batcher = new DynamicBatcher(
      replicas.map((r) => r.run),
      { maxBatch: 2, maxDelayMs: 5, maxQueue: 100, tune: false, onBatch: (_, s) => reported.push(s) },
    );
    // 10 at once, announced as the server does: batches of 2, one running and one behind on each
    // replica, the fifth once a replica is free.
    for (let i = 0; i < 10; i++) batcher.announce();
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => {
        const answer = batcher.submit(one(i));
        batcher.withdraw();
        return answer;
      }),
    );
    for (const [i, a] of answers.entries()) expect(Array.from(a.y!.data)).toEqual([2 * i, 2 * i + 1, -2 * i]);
    for (const r of replicas) {
      expect(r.calls.every((c) => c.samples === 2)).toBe(true);
      expect(Math.max(...r.calls.map((c) => c.held))).toBe(2);
    }
    expect(replicas.map((r) => r.calls.length).sort()).toEqual([2, 3]);
    // The two replicas ran their first batches at the same time.
    const [a, b] = replicas.map((r) => r.calls[0]!);
    expect(Math.min(a!.end, b!.end)).toBeGreaterThan(Math.max(a!.start, b!.start));
    // Each call takes 20 ms; the ones that waited 20 ms behind another are not reported as 40.
    expect(reported).toHaveLength(5);
    for (const s of reported) {
      expect(s).toBeGreaterThanOrEqual(0.015);
      expect(s).toBeLessThan(0.035);
    }
  });

  it('sends a lone request to an idle replica at once, not behind a busy one', async () => {
    const replicas = [serialReplica(), serialReplica()];
    const batcher = new DynamicBatcher(
      replicas.map((r) => r.run),
      { maxBatch: 4, maxDelayMs: 5, maxQueue: 100 },
    );
    const first = batcher.submit(one(1));
    await new Promise((r) => setTimeout(r, 2));
    const t0 = performance.now();
    const second = await batcher.submit(one(2));
    expect(performance.now() - t0).toBeLessThan(35);
    expect(second.y!.data[0]).toBe(4);
    await first;
    expect(replicas.map((r) => r.calls.length)).toEqual([1, 1]);
  });
});

describe('BatchSizeTuner', () => {
  // Time of a batch of n samples: a CPU whose caches a large batch outgrows (per-sample time
  // rises 5% a sample), and a GPU (a fixed 40 ms a call, 1 ms a sample).
  const cpu = (n: number) => 0.02 * n * (1 + 0.05 * (n - 1));
  const gpu = (n: number) => 0.04 + 0.001 * n;

  /** Forms `batches` batches from an always-full queue, each run at `time(size)`. */
  function serveFull(tuner: BatchSizeTuner, time: (n: number) => number, batches: number): number[] {
    const sizes: number[] = [];
    for (let i = 0; i < batches; i++) {
      const n = tuner.formBatch();
      tuner.observe(n, time(n));
      sizes.push(n);
    }
    return sizes;
  }

  it('limits batches to the cheapest size per sample: 1 where batching costs, the maximum where it pays', () => {
    const onCpu = new BatchSizeTuner(8);
    const cpuSizes = serveFull(onCpu, cpu, 200);
    expect(onCpu.limit).toBe(1);
    // After the probes have measured every size, only the probing batches are larger than 1.
    expect(cpuSizes.slice(100).filter((n) => n > 1).length).toBeLessThanOrEqual(Math.ceil(100 / 16));
    expect([...onCpu.measured().keys()].sort((a, b) => a - b)).toEqual([1, 2, 4, 8]);
    const onGpu = new BatchSizeTuner(8);
    serveFull(onGpu, gpu, 200);
    expect(onGpu.limit).toBe(8);
  });

  it('holds a probe until enough samples wait to fill it', () => {
    const tuner = new BatchSizeTuner(8);
    for (let i = 0; i < 3; i++) {
      expect(tuner.nextLimit(8)).toBe(8);
      expect(tuner.formBatch(8)).toBe(8);
      tuner.observe(8, gpu(8));
    }
    // The fourth batch is a probe of 1; with nothing waiting it is held, not spent.
    expect(tuner.nextLimit(0)).toBe(8);
    expect(tuner.formBatch(0)).toBe(8);
    expect(tuner.nextLimit(1)).toBe(1);
    expect(tuner.formBatch(1)).toBe(1);
    tuner.observe(1, gpu(1));
    for (let i = 0; i < 3; i++) {
      tuner.formBatch(8);
      tuner.observe(8, gpu(8));
    }
    // Then a probe of 2: held while one sample waits.
    expect(tuner.nextLimit(1)).toBe(8);
    expect(tuner.nextLimit(2)).toBe(2);
  });

  it('prefers the smaller size unless a larger one saves more than 10% a sample', () => {
    // Batch of 8: 7% less per sample than 1 (within the margin), then 21% less (beyond it).
    const slightly = (n: number) => 0.02 * n * (1 - 0.01 * (n - 1));
    const clearly = (n: number) => 0.02 * n * (1 - 0.03 * (n - 1));
    const a = new BatchSizeTuner(8);
    serveFull(a, slightly, 300);
    expect(a.limit).toBe(1);
    const b = new BatchSizeTuner(8);
    serveFull(b, clearly, 300);
    expect(b.limit).toBe(8);
  });

  it('starts at the maximum, and follows a backend whose costs change', () => {
    const tuner = new BatchSizeTuner(8);
    expect(tuner.nextLimit()).toBe(8);
    serveFull(tuner, gpu, 100);
    expect(tuner.limit).toBe(8);
    // The same backend under other load: the probes, rare by now, find that small batches cost less.
    serveFull(tuner, cpu, 4000);
    expect(tuner.limit).toBe(1);
    serveFull(tuner, gpu, 4000);
    expect(tuner.limit).toBe(8);
  });

  it('probes 1, 2, 4 ... up to the maximum, every 4th batch until each is measured, then ever more rarely', () => {
    const tuner = new BatchSizeTuner(6);
    const limits = serveFull(tuner, gpu, 3000);
    const smaller = [...limits.entries()].filter(([, n]) => n < 6);
    // 1, 2 and 4 measured 4 times each (6, the maximum, is measured by the batches between):
    // 15 probes, every 4th batch; then one in 16 (the 6 at batch 75 closes the round, and
    // confirms 6: one in 32 from then on; one in 64 after the next round, and so on to one in 128.
    expect(smaller.slice(0, 14).map(([i]) => i)).toEqual([
      3, 7, 11, 19, 23, 27, 35, 39, 43, 51, 55, 59, 107, 139,
    ]);
    expect(smaller.slice(0, 14).map(([, n]) => n)).toEqual([1, 2, 4, 1, 2, 4, 1, 2, 4, 1, 2, 4, 1, 2]);
    const late = smaller.filter(([i]) => i >= 2000).map(([i]) => i);
    for (let k = 1; k < late.length; k++) expect(late[k]! - late[k - 1]!).toBeGreaterThanOrEqual(128);
    expect(late.length).toBeGreaterThanOrEqual(5);
  });
});

describe('SharedBufferPool', () => {
  it('reuses a buffer given back, by exact size, and keeps no more than its limit idle', () => {
    const pool = new SharedBufferPool(1000);
    const a = pool.take(600);
    pool.give(a);
    expect(pool.take(600)).toBe(a);
    expect(pool.take(600)).not.toBe(a);
    const b = pool.take(600);
    const c = pool.take(600);
    pool.give(b);
    pool.give(c); // over the limit: dropped
    expect(pool.take(600)).toBe(b);
    expect(pool.take(600)).not.toBe(c);
  });
});
