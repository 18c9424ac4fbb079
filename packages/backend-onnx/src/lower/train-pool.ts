import { avgPoolAxis, blurAxis, type NodeBase } from '@cardinal/core';
import { intAttr, intsAttr, stringAttr } from '../proto.js';
import { emitStep, type Lowering, type LoweringContext } from './context.js';

/** dx = A^T dy B as two MatMuls with the per-axis matrices of a separable pooling (core's). */
function separableAdjoint(
  node: NodeBase,
  ctx: LoweringContext,
  rows: Float64Array,
  cols: Float64Array,
  [h, w]: readonly [number, number],
): void {
  const [, , oh, ow] = ctx.shape(node.inputs[0]!) as [number, number, number, number];
  // A is [oh, h]: its transpose [h, oh] premultiplies; B [ow, w] postmultiplies.
  const at = new Float32Array(h * oh);
  for (let y = 0; y < oh; y++) for (let i = 0; i < h; i++) at[i * oh + y] = rows[y * h + i]!;
  const left = ctx.constant(`${node.name}::rows`, [h, oh], at);
  const right = ctx.constant(`${node.name}::cols`, [ow, w], Float32Array.from(cols));
  const t = emitStep(ctx, node, 'rows', 'MatMul', [left, node.inputs[0]!]);
  emitStep(ctx, node, 'cols', 'MatMul', [t, right], [], true);
}

export const lowerAvgPoolGrad: Lowering<'avgPoolGrad'> = (node, ctx) => {
  const [h, w] = node.attrs.inputSize;
  separableAdjoint(node, ctx, avgPoolAxis(h, node.attrs, 0), avgPoolAxis(w, node.attrs, 1), [h, w]);
};

export const lowerBlurPoolGrad: Lowering<'blurPoolGrad'> = (node, ctx) => {
  const { filterSize, stride, inputSize } = node.attrs;
  const [h, w] = inputSize;
  separableAdjoint(node, ctx, blurAxis(h, filterSize, stride), blurAxis(w, filterSize, stride), [h, w]);
};

/**
 * maxPoolGrad -> MaxPool's Indices (flat over the whole tensor; ONNX Runtime keeps the first
 * largest of a window, as PyTorch) and ScatterElements adding dy at them into zeros.
 */
export const lowerMaxPoolGrad: Lowering<'maxPoolGrad'> = (node, ctx) => {
  const a = node.attrs;
  const [dy, x] = node.inputs as [string, string];
  const shape = ctx.shape(x);
  const size = shape.reduce((p, d) => p * d, 1);
  const indices = `${node.name}/indices`;
  ctx.emit(
    { ...node, name: `${node.name}/pool` },
    'MaxPool',
    [x],
    [
      intsAttr('kernel_shape', a.kernel),
      intsAttr('strides', a.stride),
      intsAttr('pads', a.padding),
      intsAttr('dilations', a.dilation),
      intAttr('ceil_mode', a.ceilMode ? 1 : 0),
    ],
    [`${node.name}/values`, indices],
  );
  const flat = ctx.ints(`${node.name}::flat`, [-1]);
  const zeros = emitStep(ctx, node, 'zeros', 'ConstantOfShape', [ctx.ints(`${node.name}::size`, [size])]);
  const scattered = emitStep(
    ctx,
    node,
    'scatter',
    'ScatterElements',
    [
      zeros,
      emitStep(ctx, node, 'flat_indices', 'Reshape', [indices, flat]),
      emitStep(ctx, node, 'flat_dy', 'Reshape', [dy, flat]),
    ],
    [intAttr('axis', 0), stringAttr('reduction', 'add')],
  );
  emitStep(ctx, node, 'dx', 'Reshape', [scattered, ctx.ints(`${node.name}::shape`, shape)], [], true);
};
