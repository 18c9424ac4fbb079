/** Latency statistics over timed runs, in milliseconds. */
export interface LatencyStats {
  runs: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function stats(samples: readonly number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  return { runs: s.length, medianMs: quantile(s, 0.5), p90Ms: quantile(s, 0.9), minMs: s[0]! };
}

/** Runs `fn` `warmup` times untimed, then `runs` times, returning each timed run in ms. */
export async function timeRuns(fn: () => Promise<unknown>, warmup: number, runs: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}
