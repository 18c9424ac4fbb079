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
