import type { PoolAttrs } from '@cardinal/core';
import { intAttr, intsAttr } from '../proto.js';
import type { Lowering } from './context.js';

/** The window attributes MaxPool and AveragePool share. */
function windowAttrs(a: PoolAttrs) {
  return [
    intsAttr('kernel_shape', a.kernel),
    intsAttr('strides', a.stride),
    intsAttr('pads', a.padding),
    intAttr('ceil_mode', a.ceilMode ? 1 : 0),
  ];
}

export const lowerMaxPool: Lowering<'maxPool'> = (node, ctx) => {
  const a = node.attrs;
  ctx.emit(node, 'MaxPool', [node.inputs[0]!], [...windowAttrs(a), intsAttr('dilations', a.dilation)]);
};

export const lowerAvgPool: Lowering<'avgPool'> = (node, ctx) => {
  const a = node.attrs;
  ctx.emit(
    node,
    'AveragePool',
    [node.inputs[0]!],
    [...windowAttrs(a), intAttr('count_include_pad', a.countIncludePad ? 1 : 0)],
  );
};

export const lowerGlobalAvgPool: Lowering = (node, ctx) =>
  ctx.emit(node, 'GlobalAveragePool', [...node.inputs]);

export const lowerGlobalMaxPool: Lowering = (node, ctx) => ctx.emit(node, 'GlobalMaxPool', [...node.inputs]);
