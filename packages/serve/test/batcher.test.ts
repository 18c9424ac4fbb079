import type { Tensor } from '@cardinal/core';
import { describe, expect, it } from 'vitest';
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
