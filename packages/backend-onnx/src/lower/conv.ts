import { binomialTaps, blurPadding, type NodeBase } from '@cardinal/core';
import { floatTensor, int64Tensor, intAttr, intsAttr, stringAttr } from '../proto.js';
import { emitStep, type Lowering, type LoweringContext } from './context.js';

/** The node's data input, then its weight and (when it has one) bias as initializers. */
function weightInputs(node: NodeBase, ctx: LoweringContext): string[] {
  const inputs = [node.inputs[0]!];
  for (const role of ['weight', 'bias'])
    if (node.params[role]) {
      const t = ctx.weight(node, role);
      inputs.push(ctx.addInitializer(floatTensor(node.params[role], t.shape, t.data)));
    }
  return inputs;
}

/** conv2d -> Conv. The IR's padding is [top, left, bottom, right], ONNX's order exactly. */
export const lowerConv2d: Lowering<'conv2d'> = (node, ctx) => {
  const a = node.attrs;
  const inputs = weightInputs(node, ctx);
  ctx.emit(node, 'Conv', inputs, [
    intsAttr('kernel_shape', a.kernel),
    intsAttr('strides', a.stride),
    intsAttr('pads', a.padding),
    intsAttr('dilations', a.dilation),
    intAttr('group', a.groups),
  ]);
};

/** linear -> Gemm with B transposed (PyTorch's [out, in] weight). */
export const lowerLinear: Lowering = (node, ctx) => {
  const inputs = weightInputs(node, ctx);
  ctx.emit(node, 'Gemm', inputs, [intAttr('transB', 1)]);
};

/** conv1d -> a 1-D Conv (weight [out, in/groups, k] as PyTorch stores it). */
export const lowerConv1d: Lowering<'conv1d'> = (node, ctx) => {
  const a = node.attrs;
  const inputs = weightInputs(node, ctx);
  ctx.emit(node, 'Conv', inputs, [
    intsAttr('kernel_shape', [a.kernel]),
    intsAttr('strides', [a.stride]),
    intsAttr('pads', a.padding),
    intsAttr('dilations', [a.dilation]),
    intAttr('group', a.groups),
  ]);
};

/**
 * blurPool -> Pad (reflect) and a depthwise Conv with the binomial filter as an initializer,
 * what torch.onnx.export writes for timm's BlurPool2d.
 */
export const lowerBlurPool: Lowering<'blurPool'> = (node, ctx) => {
  const { filterSize: k, stride } = node.attrs;
  const c = ctx.channels(node.inputs[0]!);
  const p = blurPadding(k, stride);
  const pads = ctx.addInitializer(int64Tensor(`${node.name}/pads`, [0, 0, p, p, 0, 0, p, p]));
  const padded = emitStep(ctx, node, 'pad', 'Pad', [node.inputs[0]!, pads], [stringAttr('mode', 'reflect')]);
  const taps = binomialTaps(k);
  const filter = new Float32Array(c * k * k);
  for (let ch = 0; ch < c; ch++)
    for (let i = 0; i < k; i++)
      for (let j = 0; j < k; j++) filter[(ch * k + i) * k + j] = taps[i]! * taps[j]!;
  const weight = ctx.addInitializer(floatTensor(`${node.name}/filter`, [c, 1, k, k], filter));
  emitStep(
    ctx,
    node,
    'conv',
    'Conv',
    [padded, weight],
    [intsAttr('kernel_shape', [k, k]), intsAttr('strides', [stride, stride]), intAttr('group', c)],
    true,
  );
};
