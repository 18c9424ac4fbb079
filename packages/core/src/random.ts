/** mulberry32: a small, fast, seeded generator of uniforms in [0, 1). Deterministic per seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples by Box-Muller over a uniform generator. */
export function normalSampler(uniform: () => number): () => number {
  return () => {
    const u = Math.max(uniform(), Number.MIN_VALUE);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

/** A seeded N(0, 1) tensor, for repeatable inputs without a file. */
export function randomNormal(shape: readonly number[], seed = 0): { shape: number[]; data: Float32Array } {
  const normal = normalSampler(mulberry32(seed));
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = normal();
  return { shape: [...shape], data };
}

/** A seeded Fisher-Yates permutation of 0..count-1. */
export function permutation(count: number, seed: number): Int32Array {
  const idx = Int32Array.from({ length: count }, (_, i) => i);
  const next = mulberry32(seed);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx;
}
