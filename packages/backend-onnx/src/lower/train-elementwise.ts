import { intAttr } from '../proto.js';
import { emitStep, type Lowering } from './context.js';

/** reluGrad -> dy * float(y > 0). */
export const lowerReluGrad: Lowering<'reluGrad'> = (node, ctx) => {
  const [dy, y] = node.inputs as [string, string];
  const zero = ctx.constant(`${node.name}::zero`, [], Float32Array.of(0));
  const positive = emitStep(ctx, node, 'positive', 'Greater', [y, zero]);
  const mask = emitStep(ctx, node, 'mask', 'Cast', [positive], [intAttr('to', 1)]);
  emitStep(ctx, node, 'dx', 'Mul', [dy, mask], [], true);
};

/** sigmoidGrad -> dy * y * (1 - y). */
export const lowerSigmoidGrad: Lowering<'sigmoidGrad'> = (node, ctx) => {
  const [dy, y] = node.inputs as [string, string];
  const one = ctx.constant(`${node.name}::one`, [], Float32Array.of(1));
  const slope = emitStep(ctx, node, 'slope', 'Mul', [y, emitStep(ctx, node, 'complement', 'Sub', [one, y])]);
  emitStep(ctx, node, 'dx', 'Mul', [dy, slope], [], true);
};

export const lowerExpand: Lowering<'expand'> = (node, ctx) =>
  ctx.emit(node, 'Expand', [node.inputs[0]!, ctx.ints(`${node.name}::shape`, node.attrs.shape)]);

export const lowerScale: Lowering<'scale'> = (node, ctx) =>
  ctx.emit(node, 'Mul', [
    node.inputs[0]!,
    ctx.constant(`${node.name}::alpha`, [], Float32Array.of(node.attrs.alpha)),
  ]);

export const lowerLogSoftmax: Lowering<'logSoftmax'> = (node, ctx) =>
  ctx.emit(node, 'LogSoftmax', [...node.inputs], [intAttr('axis', node.attrs.axis)]);
