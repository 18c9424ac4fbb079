import type { OpTable } from '@cardinal/core';
import type { LoweringContext } from './context.js';
import { lowerBlurPool, lowerConv1d, lowerConv2d, lowerLinear } from './conv.js';
import {
  lowerAdd,
  lowerClip,
  lowerDiv,
  lowerHardSigmoid,
  lowerHardSwish,
  lowerLeakyRelu,
  lowerMatMul,
  lowerMul,
  lowerRelu,
  lowerSigmoid,
  lowerSoftmax,
  lowerSub,
} from './elementwise.js';
import { lowerBatchNorm, lowerGroupNorm } from './norm.js';
import { lowerAvgPool, lowerGlobalAvgPool, lowerGlobalMaxPool, lowerMaxPool } from './pool.js';
import {
  lowerConcat,
  lowerConstant,
  lowerFlatten,
  lowerPad,
  lowerReduceMean,
  lowerReduceSum,
  lowerReshape,
  lowerSplit,
  lowerTranspose,
} from './shape.js';
import { lowerConv2dGradInput, lowerConv2dGradWeight } from './train-conv.js';
import {
  lowerExpand,
  lowerLogSoftmax,
  lowerReluGrad,
  lowerScale,
  lowerSigmoidGrad,
} from './train-elementwise.js';
import { lowerBatchNormGrad, lowerBatchNormTrain, lowerGroupNormGrad } from './train-norm.js';
import { lowerAvgPoolGrad, lowerBlurPoolGrad, lowerMaxPoolGrad } from './train-pool.js';

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
  sub: lowerSub,
  div: lowerDiv,
  leakyRelu: lowerLeakyRelu,
  hardSigmoid: lowerHardSigmoid,
  hardSwish: lowerHardSwish,
  clip: lowerClip,
  globalMaxPool: lowerGlobalMaxPool,
  reduceMean: lowerReduceMean,
  reduceSum: lowerReduceSum,
  matMul: lowerMatMul,
  pad: lowerPad,
  constant: lowerConstant,
  conv1d: lowerConv1d,
  groupNorm: lowerGroupNorm,
  blurPool: lowerBlurPool,
  // Training-only: prepareForInference removes them; a graph lowered as is passes through.
  dropPath: (node, ctx) => ctx.emit(node, 'Identity', [node.inputs[0]!]),
  dropBlock: (node, ctx) => ctx.emit(node, 'Identity', [node.inputs[0]!]),
  batchNormTrain: lowerBatchNormTrain,
  batchNormGrad: lowerBatchNormGrad,
  groupNormGrad: lowerGroupNormGrad,
  conv2dGradInput: lowerConv2dGradInput,
  conv2dGradWeight: lowerConv2dGradWeight,
  reluGrad: lowerReluGrad,
  sigmoidGrad: lowerSigmoidGrad,
  maxPoolGrad: lowerMaxPoolGrad,
  avgPoolGrad: lowerAvgPoolGrad,
  blurPoolGrad: lowerBlurPoolGrad,
  expand: lowerExpand,
  scale: lowerScale,
  logSoftmax: lowerLogSoftmax,
};
