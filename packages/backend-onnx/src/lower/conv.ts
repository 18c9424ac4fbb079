import { floatTensor, intAttr, intsAttr } from '../proto.js';
import type { Lowering } from './context.js';

/** conv2d -> Conv. The IR's padding is [top, left, bottom, right], ONNX's order exactly. */
export const lowerConv2d: Lowering<'conv2d'> = (node, ctx) => {
  const a = node.attrs;
  const w = ctx.weight(node, 'weight');
  const inputs = [node.inputs[0]!, ctx.addInitializer(floatTensor(node.params.weight!, w.shape, w.data))];
  if (a.bias) {
    const b = ctx.weight(node, 'bias');
    inputs.push(ctx.addInitializer(floatTensor(node.params.bias!, b.shape, b.data)));
  }
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
  const w = ctx.weight(node, 'weight');
  const inputs = [node.inputs[0]!, ctx.addInitializer(floatTensor(node.params.weight!, w.shape, w.data))];
  if (node.params.bias) {
    const b = ctx.weight(node, 'bias');
    inputs.push(ctx.addInitializer(floatTensor(node.params.bias, b.shape, b.data)));
  }
  ctx.emit(node, 'Gemm', inputs, [intAttr('transB', 1)]);
};
