import { convOutSize } from '@cardinal/core';
import { intAttr, intsAttr } from '../proto.js';
import { emitStep, type Lowering } from './context.js';

/** A 1x1 kernel without padding or dilation: a matrix product per position. */
function isPointwise(a: { kernel: number[]; padding: number[]; dilation: number[] }): boolean {
  return (
    a.kernel.every((k) => k === 1) && a.padding.every((p) => p === 0) && a.dilation.every((d) => d === 1)
  );
}

/**
 * conv2dGradInput -> ConvTranspose with the forward weight ([out, in / groups, kh, kw] is
 * ConvTranspose's layout for the reverse direction), output_padding restoring the rows and
 * columns the forward's floor division dropped.
 */
export const lowerConv2dGradInput: Lowering<'conv2dGradInput'> = (node, ctx) => {
  const a = node.attrs;
  const [h, w] = a.inputSize;
  if (isPointwise(a) && a.groups === 1 && a.stride.every((s) => s === 1)) {
    // A 1x1 convolution is a matrix product per sample: dx[n] = W^T dy[n].
    const [dy, weight] = node.inputs as [string, string];
    const [n, o] = ctx.shape(dy) as [number, number];
    const c = ctx.shape(weight)[1]!;
    const wt = emitStep(ctx, node, 'wt', 'Transpose', [
      emitStep(ctx, node, 'w2', 'Reshape', [weight, ctx.ints(`${node.name}::w2`, [o, c])]),
    ]);
    const flat = emitStep(ctx, node, 'dy3', 'Reshape', [dy, ctx.ints(`${node.name}::dy3`, [n, o, h * w])]);
    const dx = emitStep(ctx, node, 'matmul', 'MatMul', [wt, flat]);
    emitStep(ctx, node, 'dx', 'Reshape', [dx, ctx.ints(`${node.name}::dx`, [n, c, h, w])], [], true);
    return;
  }
  const [oh, ow] = convOutSize(h, w, a);
  const span = (o: number, k: number, s: number, d: number) => s * (o - 1) + (k - 1) * d + 1;
  const extra = [
    h + a.padding[0] + a.padding[2] - span(oh, a.kernel[0], a.stride[0], a.dilation[0]),
    w + a.padding[1] + a.padding[3] - span(ow, a.kernel[1], a.stride[1], a.dilation[1]),
  ];
  ctx.emit(
    node,
    'ConvTranspose',
    [...node.inputs],
    [
      intsAttr('kernel_shape', a.kernel),
      intsAttr('strides', a.stride),
      intsAttr('pads', a.padding),
      intsAttr('dilations', a.dilation),
      intAttr('group', a.groups),
      intsAttr('output_padding', extra),
    ],
  );
};

/**
 * conv2dGradWeight -> one grouped Conv with the batch as channels: x viewed as
 * [in / groups, groups * N, H, W] convolved with dy as [out, N, oh, ow] (groups groups, the
 * forward's stride as dilation and its dilation as stride) gives [in / groups, out, kh', kw'],
 * cropped to the kernel and transposed to [out, in / groups, kh, kw].
 */
export const lowerConv2dGradWeight: Lowering<'conv2dGradWeight'> = (node, ctx) => {
  const a = node.attrs;
  const [x, dy] = node.inputs as [string, string];
  const [n, c, h, w] = ctx.shape(x) as [number, number, number, number];
  const g = a.groups;
  const cinG = c / g;
  const step = (
    name: string,
    op: string,
    inputs: string[],
    attrs: ReturnType<typeof intAttr>[] = [],
    last = false,
  ) => emitStep(ctx, node, name, op, inputs, attrs, last);
  if (isPointwise(a) && g === 1) {
    // 1x1: per sample dy[n] [O, hw] times x[n]^T [hw, C] (x sampled at the stride), summed over n.
    const [, o, oh, ow] = ctx.shape(dy) as [number, number, number, number];
    let sampled = x;
    if (a.stride.some((s) => s > 1))
      sampled = step('strided', 'Slice', [
        x,
        ctx.ints(`${node.name}::starts`, [0, 0]),
        ctx.ints(`${node.name}::ends`, [h, w]),
        ctx.ints(`${node.name}::axes`, [2, 3]),
        ctx.ints(`${node.name}::steps`, a.stride),
      ]);
    const x3 = step('x3', 'Reshape', [sampled, ctx.ints(`${node.name}::x3`, [n, c, oh * ow])]);
    const xt = step('xt', 'Transpose', [x3], [intsAttr('perm', [0, 2, 1])]);
    const dy3 = step('dy3', 'Reshape', [dy, ctx.ints(`${node.name}::dy3`, [n, o, oh * ow])]);
    const per = step('per_sample', 'MatMul', [dy3, xt]);
    const sum = step(
      'sum',
      'ReduceSum',
      [per, ctx.ints(`${node.name}::batch`, [0])],
      [intAttr('keepdims', 0)],
    );
    step('weight', 'Reshape', [sum, ctx.ints(`${node.name}::shape`, [o, c, 1, 1])], [], true);
    return;
  }
  let xs = x;
  if (g > 1) {
    xs = step('x5', 'Reshape', [x, ctx.ints(`${node.name}::x5`, [n, g, cinG, h, w])]);
    xs = step('x5t', 'Transpose', [xs], [intsAttr('perm', [2, 1, 0, 3, 4])]);
    xs = step('xs', 'Reshape', [xs, ctx.ints(`${node.name}::xs`, [cinG, g * n, h, w])]);
  } else xs = step('xs', 'Transpose', [x], [intsAttr('perm', [1, 0, 2, 3])]);
  const dyT = step('dyt', 'Transpose', [dy], [intsAttr('perm', [1, 0, 2, 3])]);
  const [oh, ow] = convOutSize(h, w, a);
  let k = step(
    'conv',
    'Conv',
    [xs, dyT],
    [
      intsAttr('kernel_shape', [oh, ow]),
      intsAttr('strides', a.dilation),
      intsAttr('dilations', a.stride),
      intsAttr('pads', a.padding),
      intAttr('group', g),
    ],
  );
  // The correlation reaches past the kernel where the forward's division left rows unused.
  const reach = (size: number, p0: number, p1: number, o: number, s: number, d: number) =>
    Math.floor((size + p0 + p1 - s * (o - 1) - 1) / d) + 1;
  const kh = reach(h, a.padding[0], a.padding[2], oh, a.stride[0], a.dilation[0]);
  const kw = reach(w, a.padding[1], a.padding[3], ow, a.stride[1], a.dilation[1]);
  if (kh !== a.kernel[0] || kw !== a.kernel[1])
    k = step('crop', 'Slice', [
      k,
      ctx.ints(`${node.name}::starts`, [0, 0]),
      ctx.ints(`${node.name}::ends`, a.kernel),
      ctx.ints(`${node.name}::axes`, [2, 3]),
    ]);
  step('weight', 'Transpose', [k], [intsAttr('perm', [1, 0, 2, 3])], true);
};
