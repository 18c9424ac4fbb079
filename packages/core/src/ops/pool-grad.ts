import { formatShape, ShapeError } from '../errors.js';
import type { AttrsOf, PoolAttrs } from '../ir/attrs.js';
import type { Tensor } from '../tensor.js';
import type { AttrSchema } from './attrs.js';
import { binomialTaps, blurOutLength, blurPadding, blurPoolOp, reflectIndex } from './blur-pool.js';
import type { OpDef, ShapeContext } from './op-def.js';
import { maxPoolOp, poolOutLength, poolOutSize } from './pooling.js';

const poolAttrs: AttrSchema<PoolAttrs> = maxPoolOp.attrs;
const inputSize = { kind: 'ints', length: 2 } as const;

function checkPoolDy(dy: readonly number[], h: number, w: number, a: PoolAttrs, ctx: ShapeContext): void {
  const [oh, ow] = poolOutSize(h, w, a);
  if (dy.length !== 4 || dy[2] !== oh || dy[3] !== ow)
    throw new ShapeError(
      `${ctx.path}: pooling gradient: dy ${formatShape(dy)} does not match the forward output [N, C, ${oh}, ${ow}]`,
    );
}

/**
 * Max pooling's backward: each window's gradient goes to its first largest input, scanning
 * the window row by row (the element PyTorch's CPU kernel records as the index).
 */
export const maxPoolGradOp: OpDef<'maxPoolGrad'> = {
  name: 'maxPoolGrad',
  arity: [2, 2],
  attrs: poolAttrs,
  inferShapes(shapes, a, ctx) {
    const [dy, x] = shapes as [number[], number[]];
    if (x.length !== 4) throw new ShapeError(`${ctx.path}: maxPoolGrad expects NCHW, got ${formatShape(x)}`);
    checkPoolDy(dy, x[2]!, x[3]!, a, ctx);
    return [[...x]];
  },
  params: () => [],
  macs: () => 0,
  reference({ inputs, attrs: a }) {
    const [dy, x] = inputs as [Tensor, Tensor];
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const [oh, ow] = poolOutSize(h, w, a);
    const dx = new Float32Array(x.data.length);
    for (let p = 0; p < n * c; p++) {
      const base = p * h * w;
      for (let y = 0; y < oh; y++)
        for (let xo = 0; xo < ow; xo++) {
          let best = -1;
          let v = Number.NEGATIVE_INFINITY;
          for (let i = 0; i < a.kernel[0]; i++) {
            const iy = y * a.stride[0] - a.padding[0] + i * a.dilation[0];
            if (iy < 0 || iy >= h) continue;
            for (let j = 0; j < a.kernel[1]; j++) {
              const ix = xo * a.stride[1] - a.padding[1] + j * a.dilation[1];
              if (ix < 0 || ix >= w) continue;
              const e = x.data[base + iy * w + ix]!;
              if (best < 0 || e > v || Number.isNaN(e)) {
                v = e;
                best = base + iy * w + ix;
              }
            }
          }
          if (best >= 0) dx[best]! += dy.data[(p * oh + y) * ow + xo]!;
        }
    }
    return [{ shape: [...x.shape], data: dx }];
  },
};

/**
 * Average pooling along one axis as a matrix [out, size]: row y holds 1/count on the inputs of
 * window y. PyTorch's divisor is a product of one count per axis (the window clipped to the padded
 * extent, or to the input), so a 2-D average pool is A x B^T and its backward A^T dy B.
 */
export function avgPoolAxis(size: number, a: PoolAttrs, axis: 0 | 1): Float64Array {
  const [k, s, pb, pe] = [a.kernel[axis], a.stride[axis], a.padding[axis], a.padding[axis + 2]!];
  const out = poolOutLength(size, k, s, pb, pe, a.dilation[axis], a.ceilMode);
  const m = new Float64Array(out * size);
  for (let y = 0; y < out; y++) {
    const y0 = y * s - pb;
    const y1 = Math.min(y0 + k, size + pe);
    const lo = Math.max(y0, 0);
    const hi = Math.min(y1, size);
    const count = a.countIncludePad ? y1 - y0 : hi - lo;
    for (let i = lo; i < hi; i++) m[y * size + i] = 1 / count;
  }
  return m;
}

/** BlurPool along one axis as a matrix [out, size]: the binomial taps at the stride, reflection folded in. */
export function blurAxis(size: number, filterSize: number, stride: number): Float64Array {
  const taps = binomialTaps(filterSize);
  const p = blurPadding(filterSize, stride);
  const out = blurOutLength(size, filterSize, stride);
  const m = new Float64Array(out * size);
  for (let y = 0; y < out; y++)
    for (let i = 0; i < filterSize; i++) m[y * size + reflectIndex(y * stride + i - p, size)]! += taps[i]!;
  return m;
}

/** dx[n, c] = A^T dy[n, c] B for row matrix A [oh, h] and column matrix B [ow, w]. */
function separableAdjoint(dy: Tensor, a: Float64Array, b: Float64Array, h: number, w: number): Tensor {
  const [n, c, oh, ow] = dy.shape as [number, number, number, number];
  const dx = new Float32Array(n * c * h * w);
  const rows = new Float64Array(oh * w);
  for (let m = 0; m < n * c; m++) {
    rows.fill(0);
    for (let y = 0; y < oh; y++)
      for (let x = 0; x < ow; x++) {
        const d = dy.data[(m * oh + y) * ow + x]!;
        if (d === 0) continue;
        for (let j = 0; j < w; j++) rows[y * w + j]! += d * b[x * w + j]!;
      }
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        let s = 0;
        for (let y = 0; y < oh; y++) s += a[y * h + i]! * rows[y * w + j]!;
        dx[(m * h + i) * w + j] = s;
      }
  }
  return { shape: [n, c, h, w], data: dx };
}

/** Average pooling's backward: each window's gradient spread evenly over its divisor. */
export const avgPoolGradOp: OpDef<'avgPoolGrad'> = {
  name: 'avgPoolGrad',
  arity: [1, 1],
  attrs: { ...poolAttrs, inputSize } as AttrSchema<AttrsOf<'avgPoolGrad'>>,
  inferShapes(shapes, a, ctx) {
    const dy = shapes[0]!;
    checkPoolDy(dy, a.inputSize[0], a.inputSize[1], a, ctx);
    return [[dy[0]!, dy[1]!, ...a.inputSize]];
  },
  params: () => [],
  macs: () => 0,
  reference({ inputs, attrs: a }) {
    const [h, w] = a.inputSize;
    return [separableAdjoint(inputs[0]!, avgPoolAxis(h, a, 0), avgPoolAxis(w, a, 1), h, w)];
  },
};

/** BlurPool's backward: the binomial filter transposed, reflected positions folded back. */
export const blurPoolGradOp: OpDef<'blurPoolGrad'> = {
  name: 'blurPoolGrad',
  arity: [1, 1],
  attrs: { ...blurPoolOp.attrs, inputSize } as AttrSchema<AttrsOf<'blurPoolGrad'>>,
  inferShapes(shapes, a, ctx) {
    const dy = shapes[0]!;
    const [h, w] = a.inputSize;
    if (
      dy.length !== 4 ||
      dy[2] !== blurOutLength(h, a.filterSize, a.stride) ||
      dy[3] !== blurOutLength(w, a.filterSize, a.stride)
    )
      throw new ShapeError(`${ctx.path}: blurPoolGrad dy ${formatShape(dy)} does not match input ${h}x${w}`);
    return [[dy[0]!, dy[1]!, h, w]];
  },
  params: () => [],
  macs: () => 0,
  reference({ inputs, attrs: a }) {
    const [h, w] = a.inputSize;
    const rows = blurAxis(h, a.filterSize, a.stride);
    const cols = blurAxis(w, a.filterSize, a.stride);
    return [separableAdjoint(inputs[0]!, rows, cols, h, w)];
  },
};
