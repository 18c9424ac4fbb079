import { int64Tensor, intAttr, intsAttr } from '../proto.js';
import type { Lowering } from './context.js';

export const lowerConcat: Lowering = (node, ctx) =>
  ctx.emit(node, 'Concat', [...node.inputs], [intAttr('axis', Number(node.attrs.axis))]);

/** split -> Split with the sizes as an int64 input (opset 13+). */
export const lowerSplit: Lowering = (node, ctx) => {
  const sizes = node.attrs.sizes as number[];
  const name = ctx.addInitializer(int64Tensor(`${node.name}::split`, sizes));
  ctx.emit(node, 'Split', [node.inputs[0]!, name], [intAttr('axis', Number(node.attrs.axis))]);
};

/** reshape -> Reshape. The IR's 0 (copy) and -1 (infer) are ONNX's, so the batch stays symbolic. */
export const lowerReshape: Lowering = (node, ctx) => {
  const name = ctx.addInitializer(int64Tensor(`${node.name}::shape`, node.attrs.shape as number[]));
  ctx.emit(node, 'Reshape', [node.inputs[0]!, name]);
};

export const lowerTranspose: Lowering = (node, ctx) =>
  ctx.emit(node, 'Transpose', [...node.inputs], [intsAttr('perm', node.attrs.perm as number[])]);

export const lowerFlatten: Lowering = (node, ctx) =>
  ctx.emit(
    node,
    'Flatten',
    [...node.inputs],
    [intAttr('axis', typeof node.attrs.axis === 'number' ? node.attrs.axis : 1)],
  );
