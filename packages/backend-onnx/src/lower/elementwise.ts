import { floatAttr, floatTensor, intAttr } from '../proto.js';
import type { Lowering } from './context.js';

export const lowerRelu: Lowering = (node, ctx) => ctx.emit(node, 'Relu', [...node.inputs]);
export const lowerSigmoid: Lowering = (node, ctx) => ctx.emit(node, 'Sigmoid', [...node.inputs]);
/** softmax over one axis: opset 13+ Softmax has exactly these semantics. */
export const lowerSoftmax: Lowering<'softmax'> = (node, ctx) =>
  ctx.emit(node, 'Softmax', [...node.inputs], [intAttr('axis', node.attrs.axis)]);
/** add and mul broadcast as NumPy does, a superset of the IR's rule. */
export const lowerAdd: Lowering = (node, ctx) => ctx.emit(node, 'Add', [...node.inputs]);
export const lowerMul: Lowering = (node, ctx) => ctx.emit(node, 'Mul', [...node.inputs]);
export const lowerSub: Lowering = (node, ctx) => ctx.emit(node, 'Sub', [...node.inputs]);
export const lowerDiv: Lowering = (node, ctx) => ctx.emit(node, 'Div', [...node.inputs]);
export const lowerMatMul: Lowering = (node, ctx) => ctx.emit(node, 'MatMul', [...node.inputs]);
export const lowerLeakyRelu: Lowering<'leakyRelu'> = (node, ctx) =>
  ctx.emit(node, 'LeakyRelu', [...node.inputs], [floatAttr('alpha', node.attrs.alpha)]);
export const lowerHardSigmoid: Lowering<'hardSigmoid'> = (node, ctx) =>
  ctx.emit(
    node,
    'HardSigmoid',
    [...node.inputs],
    [floatAttr('alpha', node.attrs.alpha), floatAttr('beta', node.attrs.beta)],
  );
/** HardSwish is opset 14's: the exporter's opset 17 has it. */
export const lowerHardSwish: Lowering = (node, ctx) => ctx.emit(node, 'HardSwish', [...node.inputs]);
/** clip -> Clip with its bounds as scalar inputs (opset 11+). */
export const lowerClip: Lowering<'clip'> = (node, ctx) => {
  const bound = (which: 'min' | 'max') =>
    ctx.addInitializer(floatTensor(`${node.name}::${which}`, [], Float32Array.of(node.attrs[which])));
  ctx.emit(node, 'Clip', [node.inputs[0]!, bound('min'), bound('max')]);
};
