import { int64Tensor, intAttr, intsAttr } from '../proto.js';
import type { Lowering } from './context.js';

export const lowerConcat: Lowering<'concat'> = (node, ctx) =>
  ctx.emit(node, 'Concat', [...node.inputs], [intAttr('axis', node.attrs.axis)]);

/** split -> Split with the sizes as an int64 input (opset 13+). */
export const lowerSplit: Lowering<'split'> = (node, ctx) => {
  const { sizes, axis } = node.attrs;
  const name = ctx.addInitializer(int64Tensor(`${node.name}::split`, sizes));
  ctx.emit(node, 'Split', [node.inputs[0]!, name], [intAttr('axis', axis)]);
};

/** reshape -> Reshape. The IR's 0 (copy) and -1 (infer) are ONNX's, so the batch stays symbolic. */
export const lowerReshape: Lowering<'reshape'> = (node, ctx) => {
  const name = ctx.addInitializer(int64Tensor(`${node.name}::shape`, node.attrs.shape));
  ctx.emit(node, 'Reshape', [node.inputs[0]!, name]);
};

export const lowerTranspose: Lowering<'transpose'> = (node, ctx) =>
  ctx.emit(node, 'Transpose', [...node.inputs], [intsAttr('perm', node.attrs.perm)]);

export const lowerFlatten: Lowering<'flatten'> = (node, ctx) =>
  ctx.emit(node, 'Flatten', [...node.inputs], [intAttr('axis', node.attrs.axis)]);
