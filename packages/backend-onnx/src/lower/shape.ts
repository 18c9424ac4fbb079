import { floatTensor, int64Tensor, intAttr, intsAttr } from '../proto.js';
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

/** reduceMean -> ReduceMean (axes an attribute before opset 18); reduceSum -> ReduceSum (axes an input since 13). */
export const lowerReduceMean: Lowering<'reduceMean'> = (node, ctx) =>
  ctx.emit(
    node,
    'ReduceMean',
    [...node.inputs],
    [intsAttr('axes', node.attrs.axes), intAttr('keepdims', node.attrs.keepDims ? 1 : 0)],
  );
export const lowerReduceSum: Lowering<'reduceSum'> = (node, ctx) => {
  const axes = ctx.addInitializer(int64Tensor(`${node.name}::axes`, node.attrs.axes));
  ctx.emit(node, 'ReduceSum', [node.inputs[0]!, axes], [intAttr('keepdims', node.attrs.keepDims ? 1 : 0)]);
};

/** pad -> Pad in constant mode, pads and value as inputs (opset 11+). */
export const lowerPad: Lowering<'pad'> = (node, ctx) => {
  const pads = ctx.addInitializer(int64Tensor(`${node.name}::pads`, node.attrs.pads));
  const value = ctx.addInitializer(floatTensor(`${node.name}::value`, [], Float32Array.of(node.attrs.value)));
  ctx.emit(node, 'Pad', [node.inputs[0]!, pads, value]);
};

/** constant -> Identity of its value, an initializer named by the parameter's key. */
export const lowerConstant: Lowering<'constant'> = (node, ctx) => {
  const v = ctx.weight(node, 'value');
  ctx.emit(node, 'Identity', [ctx.addInitializer(floatTensor(node.params.value!, v.shape, v.data))]);
};
