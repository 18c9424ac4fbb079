import { formatShape, InputError } from './errors.js';

/** A dense float32 tensor in row-major (C) order. NCHW for feature maps. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function tensor(shape: readonly number[], data?: Float32Array | readonly number[]): Tensor {
  const size = shapeSize(shape);
  const buf = data === undefined ? new Float32Array(size) : Float32Array.from(data);
  if (buf.length !== size) {
    throw new InputError(
      `tensor data has ${buf.length} elements but shape ${formatShape(shape)} needs ${size}`,
    );
  }
  return { shape: [...shape], data: buf };
}

export function zeros(shape: readonly number[]): Tensor {
  return { shape: [...shape], data: new Float32Array(shapeSize(shape)) };
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** Largest absolute elementwise difference; throws when the shapes differ. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  if (!shapesEqual(a.shape, b.shape)) {
    throw new InputError(`cannot compare shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  let m = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    if (d > m || Number.isNaN(d)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}

/**
 * The k largest entries of each row of a [N, K] tensor of logits, largest first, as
 * `{index, logit}`: the names `classify` (with `label` and `prob`) and the CLI's JSON use.
 */
export function topK(t: Tensor, k: number): { index: number; logit: number }[][] {
  const [n, c] = [t.shape[0] ?? 1, t.data.length / (t.shape[0] ?? 1)];
  const rows: { index: number; logit: number }[][] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from(t.data.subarray(i * c, (i + 1) * c), (logit, index) => ({ index, logit }));
    // Descending; NaN after every number (a plain b - a would make the order depend on the engine).
    row.sort((a, b) =>
      Number.isNaN(a.logit)
        ? Number.isNaN(b.logit)
          ? 0
          : 1
        : Number.isNaN(b.logit)
          ? -1
          : b.logit - a.logit,
    );
    rows.push(row.slice(0, k));
  }
  return rows;
}
