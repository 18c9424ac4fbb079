import { formatShape, ShapeError } from '../errors.js';
import type { OpDef } from './op-def.js';

/** The binomial taps of a blur of `size` (1 2 1 for 3, 1 4 6 4 1 for 5), summing to 1. */
export function binomialTaps(size: number): number[] {
  const row = [1];
  for (let i = 1; i < size; i++) row.push((row[i - 1]! * (size - i)) / i);
  const total = 2 ** (size - 1);
  return row.map((v) => v / total);
}

/** timm's padding for the blur: get_padding(filter, stride), on every side. */
export function blurPadding(filterSize: number, stride: number): number {
  return Math.floor((stride - 1 + (filterSize - 1)) / 2);
}

/** The output length along one axis: reflect-padded, then the filter at the stride. */
export function blurOutLength(size: number, filterSize: number, stride: number): number {
  return Math.floor((size + 2 * blurPadding(filterSize, stride) - filterSize) / stride) + 1;
}

/** Index into [0, n) after PyTorch's reflect padding (the edge not repeated). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

/**
 * timm's BlurPool2d (anti-aliased downsampling): F.pad(x, p, mode='reflect') and a depthwise
 * conv with the outer product of the binomial taps, stride `stride`. No parameters (timm keeps
 * the filter as a non-persistent buffer, absent from the state_dict).
 */
export const blurPoolOp: OpDef<'blurPool'> = {
  name: 'blurPool',
  arity: [1, 1],
  attrs: { filterSize: { kind: 'int', default: 3 }, stride: { kind: 'int', default: 2 } },
  inferShapes(shapes, a, ctx) {
    const x = shapes[0]!;
    if (x.length !== 4) throw new ShapeError(`${ctx.path}: blurPool expects NCHW, got ${formatShape(x)}`);
    if (a.filterSize < 2 || a.filterSize > 7 || a.stride < 1)
      throw new ShapeError(`${ctx.path}: blurPool filter size must be 2..7 and stride >= 1`);
    const p = blurPadding(a.filterSize, a.stride);
    // Reflect padding needs more input than the pad on each side, as PyTorch's F.pad does.
    if (x[2]! <= p || x[3]! <= p)
      throw new ShapeError(
        `${ctx.path}: blurPool's reflect padding ${p} needs maps larger than ${formatShape(x)}`,
      );
    const [n, c, h, w] = x as [number, number, number, number];
    return [[n, c, blurOutLength(h, a.filterSize, a.stride), blurOutLength(w, a.filterSize, a.stride)]];
  },
  params: () => [],
  macs(_shapes, outShapes, a) {
    const o = outShapes[0]!;
    return o[0]! * o[1]! * o[2]! * o[3]! * a.filterSize * a.filterSize;
  },
  reference({ inputs, attrs: a }) {
    const x = inputs[0]!;
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const taps = binomialTaps(a.filterSize);
    const p = blurPadding(a.filterSize, a.stride);
    const oh = blurOutLength(h, a.filterSize, a.stride);
    const ow = blurOutLength(w, a.filterSize, a.stride);
    const out = new Float32Array(n * c * oh * ow);
    for (let m = 0; m < n * c; m++) {
      const base = m * h * w;
      for (let y = 0; y < oh; y++)
        for (let xo = 0; xo < ow; xo++) {
          let acc = 0;
          for (let i = 0; i < a.filterSize; i++) {
            const iy = reflectIndex(y * a.stride + i - p, h);
            for (let j = 0; j < a.filterSize; j++)
              acc += taps[i]! * taps[j]! * x.data[base + iy * w + reflectIndex(xo * a.stride + j - p, w)]!;
          }
          out[(m * oh + y) * ow + xo] = acc;
        }
    }
    return [{ shape: [n, c, oh, ow], data: out }];
  },
  grad(node, [dy], g) {
    if (!dy) return { inputs: [undefined] };
    const x = g.tensor(node.inputs[0]!);
    const inputSize: [number, number] = [x.shape[2]!, x.shape[3]!];
    return { inputs: [g.op('blurPoolGrad', [dy], { ...node.attrs, inputSize })[0]] };
  },
};
