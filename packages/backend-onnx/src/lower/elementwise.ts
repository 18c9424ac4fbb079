import { intAttr } from '../proto.js';
import type { Lowering } from './context.js';

export const lowerRelu: Lowering = (node, ctx) => ctx.emit(node, 'Relu', [...node.inputs]);
export const lowerSigmoid: Lowering = (node, ctx) => ctx.emit(node, 'Sigmoid', [...node.inputs]);
/** softmax over one axis: opset 13+ Softmax has exactly these semantics. */
export const lowerSoftmax: Lowering<'softmax'> = (node, ctx) =>
  ctx.emit(node, 'Softmax', [...node.inputs], [intAttr('axis', node.attrs.axis)]);
/** add and mul broadcast as NumPy does, a superset of the IR's rule. */
export const lowerAdd: Lowering = (node, ctx) => ctx.emit(node, 'Add', [...node.inputs]);
export const lowerMul: Lowering = (node, ctx) => ctx.emit(node, 'Mul', [...node.inputs]);
