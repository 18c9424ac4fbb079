import { formatShape, ShapeError } from '../errors.js';
import type { GradTensor } from '../grad/rule.js';
import type { Conv2dAttrs } from '../ir/attrs.js';
import type { Tensor } from '../tensor.js';
import type { AttrSchema } from './attrs.js';
import type { OpDef, ParamRequirement, ShapeContext } from './op-def.js';

export type { Conv2dAttrs };

/** conv2d's attributes, declared once: kernel is required, the rest default as in PyTorch. */
const conv2dAttrs: AttrSchema<Conv2dAttrs> = {
  outChannels: { kind: 'int' },
  kernel: { kind: 'ints', length: 2 },
  stride: { kind: 'ints', length: 2, default: [1, 1] },
  padding: { kind: 'ints', length: 4, default: [0, 0, 0, 0] },
  dilation: { kind: 'ints', length: 2, default: [1, 1] },
  groups: { kind: 'int', default: 1 },
  bias: { kind: 'bool', default: false },
};

/** Output length of a convolution or pooling window along one axis (floor mode). */
export function convOutLength(
  size: number,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
): number {
  return Math.floor((size + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** Output [height, width] of a convolution over an H x W input. */
export function convOutSize(h: number, w: number, a: Conv2dAttrs): [number, number] {
  return [
    convOutLength(h, a.kernel[0], a.stride[0], a.padding[0], a.padding[2], a.dilation[0]),
    convOutLength(w, a.kernel[1], a.stride[1], a.padding[1], a.padding[3], a.dilation[1]),
  ];
}

function inferConv(shapes: readonly (readonly number[])[], a: Conv2dAttrs, ctx: ShapeContext): number[][] {
  const x = shapes[0]!;
  if (x.length !== 4) {
    throw new ShapeError(`${ctx.path}: conv2d expects a 4-D NCHW input, got ${formatShape(x)}`);
  }
  const [n, c, h, w] = x as [number, number, number, number];
  if (a.groups < 1 || c % a.groups !== 0) {
    throw new ShapeError(
      `${ctx.path}: input channels ${c} are not divisible by groups ${a.groups} (input ${formatShape(x)})`,
    );
  }
  if (a.outChannels % a.groups !== 0) {
    throw new ShapeError(
      `${ctx.path}: output channels ${a.outChannels} are not divisible by groups ${a.groups}`,
    );
  }
  if ([...a.kernel, ...a.stride, ...a.dilation].some((v) => v < 1) || a.padding.some((v) => v < 0)) {
    throw new ShapeError(`${ctx.path}: conv2d kernel, stride and dilation must be >= 1 and padding >= 0`);
  }
  const [oh, ow] = convOutSize(h, w, a);
  if (oh < 1 || ow < 1) {
    throw new ShapeError(
      `${ctx.path}: input ${formatShape(x)} is too small for kernel ${formatShape(a.kernel)} with padding ${formatShape(a.padding)}`,
    );
  }
  return [[n, a.outChannels, oh, ow]];
}

/**
 * Direct convolution, accumulating in float64 so it is at least as exact as any float32 kernel.
 * The innermost loop runs over contiguous output columns; the valid column range is computed
 * once per kernel tap instead of testing padding per element.
 */
export function conv2dReference(x: Tensor, weight: Tensor, bias: Tensor | undefined, a: Conv2dAttrs): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [oh, ow] = convOutSize(h, w, a);
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.stride;
  const [dh, dw] = a.dilation;
  const [pt, pl] = [a.padding[0], a.padding[1]];
  const oc = a.outChannels;
  const cinG = c / a.groups;
  const coutG = oc / a.groups;
  const out = new Float32Array(n * oc * oh * ow);
  const acc = new Float64Array(oh * ow);
  const xd = x.data;
  const wd = weight.data;
  // Valid output-column range for each horizontal tap.
  const owLo = new Int32Array(kw);
  const owHi = new Int32Array(kw);
  for (let j = 0; j < kw; j++) {
    const off = j * dw - pl;
    owLo[j] = Math.max(0, Math.ceil(-off / sw));
    owHi[j] = Math.min(ow, Math.floor((w - 1 - off) / sw) + 1);
  }
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < oc; o++) {
      const g = Math.floor(o / coutG);
      acc.fill(bias ? bias.data[o]! : 0);
      for (let ci = 0; ci < cinG; ci++) {
        const xBase = (b * c + g * cinG + ci) * h * w;
        const wBase = (o * cinG + ci) * kh * kw;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const wv = wd[wBase + i * kw + j]!;
            if (wv === 0) continue;
            const lo = owLo[j]!;
            const hi = owHi[j]!;
            const colOff = j * dw - pl;
            for (let y = 0; y < oh; y++) {
              const iy = y * sh + i * dh - pt;
              if (iy < 0 || iy >= h) continue;
              const rowBase = xBase + iy * w + colOff;
              const accRow = y * ow;
              if (sw === 1) {
                for (let xo = lo; xo < hi; xo++) acc[accRow + xo]! += wv * xd[rowBase + xo]!;
              } else {
                for (let xo = lo; xo < hi; xo++) acc[accRow + xo]! += wv * xd[rowBase + xo * sw]!;
              }
            }
          }
        }
      }
      out.set(acc, (b * oc + o) * oh * ow);
    }
  }
  return { shape: [n, oc, oh, ow], data: out };
}

export const conv2dOp: OpDef<'conv2d'> = {
  name: 'conv2d',
  arity: [1, 1],
  attrs: conv2dAttrs,
  inferShapes: inferConv,
  params(shapes, a) {
    const cin = shapes[0]![1]!;
    const fanIn = (cin / a.groups) * a.kernel[0] * a.kernel[1];
    const req: ParamRequirement[] = [
      {
        role: 'weight',
        shape: [a.outChannels, cin / a.groups, a.kernel[0], a.kernel[1]],
        kind: 'parameter',
        dtype: 'float32',
        init: { kind: 'kaimingNormalFanOut' },
      },
    ];
    if (a.bias) {
      req.push({
        role: 'bias',
        shape: [a.outChannels],
        kind: 'parameter',
        dtype: 'float32',
        init: { kind: 'uniformFanIn', fanIn },
      });
    }
    return req;
  },
  macs(shapes, outShapes, a) {
    const out = outShapes[0]!;
    const cin = shapes[0]![1]!;
    return out[0]! * out[1]! * out[2]! * out[3]! * (cin / a.groups) * a.kernel[0] * a.kernel[1];
  },
  reference({ inputs, params, attrs }) {
    return [conv2dReference(inputs[0]!, params.weight!, params.bias, attrs)];
  },
  grad(node, [dy], g) {
    if (!dy) return { inputs: [undefined] };
    const x = g.tensor(node.inputs[0]!);
    const w = g.param(node.params.weight!);
    const a = node.attrs;
    const [dx] = g.op('conv2dGradInput', [dy, w], { ...a, inputSize: [x.shape[2]!, x.shape[3]!] });
    const [dw] = g.op('conv2dGradWeight', [x, dy], a);
    const params: Record<string, GradTensor> = { weight: dw! };
    if (a.bias) params.bias = g.op('reduceSum', [dy], { axes: [0, 2, 3], keepDims: false })[0]!;
    return { inputs: [dx], params };
  },
};
