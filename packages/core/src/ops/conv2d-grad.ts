import { formatShape, ShapeError } from '../errors.js';
import type { AttrsOf, Conv2dAttrs } from '../ir/attrs.js';
import type { Tensor } from '../tensor.js';
import type { AttrSchema } from './attrs.js';
import { conv2dOp, convOutSize } from './conv2d.js';
import type { OpDef, ShapeContext } from './op-def.js';

const convAttrs: AttrSchema<Conv2dAttrs> = conv2dOp.attrs;

/** Checks dy against what the forward convolution of an H x W input would have produced. */
function checkDy(dy: readonly number[], h: number, w: number, a: Conv2dAttrs, ctx: ShapeContext): void {
  const [oh, ow] = convOutSize(h, w, a);
  if (dy.length !== 4 || dy[1] !== a.outChannels || dy[2] !== oh || dy[3] !== ow)
    throw new ShapeError(
      `${ctx.path}: convolution gradient: dy ${formatShape(dy)} does not match the forward output [N, ${a.outChannels}, ${oh}, ${ow}]`,
    );
}

/**
 * Walks every (output position, tap) pair of a convolution once, calling `f` with flat
 * indices into x, weight and dy: the one loop both gradients share.
 */
function eachTap(
  xShape: readonly number[],
  a: Conv2dAttrs,
  f: (xi: number, wi: number, yi: number) => void,
): void {
  const [n, c, h, w] = xShape as [number, number, number, number];
  const [oh, ow] = convOutSize(h, w, a);
  const [kh, kw] = a.kernel;
  const cinG = c / a.groups;
  const coutG = a.outChannels / a.groups;
  for (let b = 0; b < n; b++)
    for (let o = 0; o < a.outChannels; o++) {
      const grp = Math.floor(o / coutG);
      for (let ci = 0; ci < cinG; ci++) {
        const xBase = (b * c + grp * cinG + ci) * h * w;
        const wBase = (o * cinG + ci) * kh * kw;
        const yBase = (b * a.outChannels + o) * oh * ow;
        for (let i = 0; i < kh; i++)
          for (let y = 0; y < oh; y++) {
            const iy = y * a.stride[0] + i * a.dilation[0] - a.padding[0];
            if (iy < 0 || iy >= h) continue;
            for (let j = 0; j < kw; j++)
              for (let xo = 0; xo < ow; xo++) {
                const ix = xo * a.stride[1] + j * a.dilation[1] - a.padding[1];
                if (ix < 0 || ix >= w) continue;
                f(xBase + iy * w + ix, wBase + i * kw + j, yBase + y * ow + xo);
              }
          }
      }
    }
}

/** dx of a convolution: dy through the transposed convolution, onto the input's size. */
export const conv2dGradInputOp: OpDef<'conv2dGradInput'> = {
  name: 'conv2dGradInput',
  arity: [2, 2],
  attrs: { ...convAttrs, inputSize: { kind: 'ints', length: 2 } } as AttrSchema<AttrsOf<'conv2dGradInput'>>,
  inferShapes(shapes, a, ctx) {
    const [dy, w] = shapes as [number[], number[]];
    const [h, wd] = a.inputSize;
    if (w.length !== 4 || w[0] !== a.outChannels)
      throw new ShapeError(
        `${ctx.path}: conv2dGradInput weight ${formatShape(w)} does not match the attributes`,
      );
    checkDy(dy, h, wd, a, ctx);
    return [[dy[0]!, w[1]! * a.groups, h, wd]];
  },
  params: () => [],
  macs: (shapes, _o, a) => {
    const dy = shapes[0]!;
    const w = shapes[1]!;
    return dy[0]! * dy[1]! * dy[2]! * dy[3]! * w[1]! * a.kernel[0] * a.kernel[1];
  },
  reference({ inputs, attrs }) {
    const [dy, w] = inputs as [Tensor, Tensor];
    const xShape = [dy.shape[0]!, w.shape[1]! * attrs.groups, ...attrs.inputSize];
    const acc = new Float64Array(xShape.reduce((p, d) => p * d, 1));
    eachTap(xShape, attrs, (xi, wi, yi) => {
      acc[xi]! += w.data[wi]! * dy.data[yi]!;
    });
    return [{ shape: xShape, data: Float32Array.from(acc) }];
  },
};

/** dW of a convolution from its input and dy: [out, in / groups, kh, kw]. */
export const conv2dGradWeightOp: OpDef<'conv2dGradWeight'> = {
  name: 'conv2dGradWeight',
  arity: [2, 2],
  attrs: convAttrs,
  inferShapes(shapes, a, ctx) {
    const [x, dy] = shapes as [number[], number[]];
    if (x.length !== 4 || x[1]! % a.groups !== 0)
      throw new ShapeError(
        `${ctx.path}: conv2dGradWeight input ${formatShape(x)} does not match the attributes`,
      );
    checkDy(dy, x[2]!, x[3]!, a, ctx);
    return [[a.outChannels, x[1]! / a.groups, a.kernel[0], a.kernel[1]]];
  },
  params: () => [],
  macs: (shapes, outShapes) => {
    const dy = shapes[1]!;
    const o = outShapes[0]!;
    return dy[0]! * dy[2]! * dy[3]! * o[0]! * o[1]! * o[2]! * o[3]!;
  },
  reference({ inputs, attrs }) {
    const [x, dy] = inputs as [Tensor, Tensor];
    const shape = [attrs.outChannels, x.shape[1]! / attrs.groups, attrs.kernel[0], attrs.kernel[1]];
    const acc = new Float64Array(shape.reduce((p, d) => p * d, 1));
    eachTap(x.shape, attrs, (xi, wi, yi) => {
      acc[wi]! += x.data[xi]! * dy.data[yi]!;
    });
    return [{ shape, data: Float32Array.from(acc) }];
  },
};
