import type { OpTable } from '@cardinal/core';
import type { LoweringContext } from './context.js';
import { lowerConv2d, lowerLinear } from './conv.js';
import { lowerAdd, lowerMul, lowerRelu, lowerSigmoid, lowerSoftmax } from './elementwise.js';
import { lowerBatchNorm } from './norm.js';
import { lowerAvgPool, lowerGlobalAvgPool, lowerMaxPool } from './pool.js';
import { lowerConcat, lowerFlatten, lowerReshape, lowerSplit, lowerTranspose } from './shape.js';

/** One lowering per IR op. */
export const LOWERINGS: OpTable<[LoweringContext], void> = {
  conv2d: lowerConv2d,
  batchNorm: lowerBatchNorm,
  relu: lowerRelu,
  sigmoid: lowerSigmoid,
  softmax: lowerSoftmax,
  add: lowerAdd,
  mul: lowerMul,
  concat: lowerConcat,
  split: lowerSplit,
  reshape: lowerReshape,
  transpose: lowerTranspose,
  maxPool: lowerMaxPool,
  avgPool: lowerAvgPool,
  globalAvgPool: lowerGlobalAvgPool,
  flatten: lowerFlatten,
  linear: lowerLinear,
};
