import { type Graph, mulberry32, randomNormal, type Tensor, type WeightMap } from '../src/index.js';

/** Seeded standard-normal values (Box-Muller over mulberry32). */
export function randn(count: number, seed: number): Float32Array {
  return randomNormal([count], seed).data;
}

export function randomInput(shape: readonly number[], seed: number): Tensor {
  return {
    shape: [...shape],
    data: randn(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
  };
}

/** Makes every BatchNorm non-trivial (as the fixtures do), so tests exercise its arithmetic. */
export function randomiseBatchNorm(graph: Graph, weights: WeightMap, seed: number): WeightMap {
  const out: WeightMap = new Map(weights);
  let s = seed;
  for (const node of graph.nodes) {
    if (node.op !== 'batchNorm') continue;
    const c = graph.params[node.params.weight!]!.shape[0]!;
    const r = randn(4 * c, s++);
    const f = (k: number, fn: (v: number) => number) => Float32Array.from(r.subarray(k * c, (k + 1) * c), fn);
    out.set(node.params.weight!, { shape: [c], data: f(0, (v) => 1 + 0.25 * v) });
    out.set(node.params.bias!, { shape: [c], data: f(1, (v) => 0.2 * v) });
    out.set(node.params.running_mean!, { shape: [c], data: f(2, (v) => 0.2 * v) });
    out.set(node.params.running_var!, { shape: [c], data: f(3, (v) => 0.6 + Math.abs(v) * 0.5) });
  }
  return out;
}

/** A seeded generator with the helpers the fuzz tests use. */
export function prng(seed: number) {
  const next = mulberry32(seed);
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
  };
}
export type Rng = ReturnType<typeof prng>;
