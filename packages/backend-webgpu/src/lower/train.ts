/**
 * The training ops (core's TRAINING_OPS) as kernels. A node of several outputs lowers to one
 * kernel per output, in an order where each reads only what is written before it; parameters
 * (BatchNorm's and GroupNorm's affine and running statistics) are constants keyed by node and
 * role, which the training executable re-uploads when the optimiser changes them.
 */

import type { OpTable } from '@cardinal/core';
import { avgPoolAxis, blurAxis, shapeSize, type TrainingOpName } from '@cardinal/core';
import {
  groupInvStd,
  groupMean,
  groupSumD,
  groupSumDXhat,
  renderGroupNormDx,
} from '../codegen/group-norm.js';
import { renderCombineParts } from '../codegen/partials.js';
import { renderConvGradInput, renderConvGradWeight, weightGradParts } from '../codegen/train-conv.js';
import {
  renderActivationGrad,
  renderExpand,
  renderLogSoftmax,
  renderScale,
} from '../codegen/train-elementwise.js';
import {
  batchNormDweight,
  channelInvStd,
  channelMean,
  channelRunningVar,
  channelSumDy,
  groupNormDweight,
  renderBatchNormApply,
  renderBatchNormDx,
  renderRunningMean,
} from '../codegen/train-norm.js';
import { renderMaxPoolGrad, renderSeparableCols, renderSeparableRows } from '../codegen/train-pool.js';
import type { PlanStep } from '../plan/lower.js';
import type { GroupContext } from './index.js';
import { kernelStep, param, twoLevelSteps } from './steps.js';

function layout(shape: readonly number[]) {
  return { n: shape[0]!, c: shape[1]!, inner: shapeSize(shape.slice(2)) };
}

/** A separable pooling backward (average or blur): along the width into scratch, then the height. */
function separable(
  kind: string,
  name: string,
  dy: string,
  dx: string,
  rows: Float64Array,
  cols: Float64Array,
  c: GroupContext,
): PlanStep[] {
  const [n, ch, oh, ow] = c.shape(dy) as [number, number, number, number];
  const [, , h, w] = c.shape(dx) as [number, number, number, number];
  const p = { planes: n * ch, h, w, oh, ow };
  const t = c.scratch('cols', [n, ch, oh, w]);
  const geometry = `${h}x${w}/${oh}x${ow}`;
  return [
    kernelStep(c, renderSeparableCols(p, kind, c.limits), [dy], t, {
      cols: { key: `${name}.cols/${geometry}`, make: () => Float32Array.from(cols) },
    }),
    kernelStep(c, renderSeparableRows(p, kind, c.limits), [t], dx, {
      rows: { key: `${name}.rows/${geometry}`, make: () => Float32Array.from(rows) },
    }),
  ];
}

export const LOWER_TRAINING: OpTable<[GroupContext], PlanStep[], TrainingOpName> = {
  batchNormTrain(n, c) {
    const [x] = n.inputs as [string];
    const [y, mean, inv, runMean, runVar] = n.outputs as [string, string, string, string, string];
    const p = layout(c.shape(x));
    const { eps, momentum } = n.attrs;
    return [
      ...twoLevelSteps(c, channelMean(p, c.limits), [x], mean),
      ...twoLevelSteps(c, channelInvStd(p, eps, c.limits), [x, mean], inv),
      kernelStep(c, renderBatchNormApply(p, c.limits), [x, mean, inv], y, {
        weight: param(c, n.name, 'weight'),
        bias: param(c, n.name, 'bias'),
      }),
      kernelStep(c, renderRunningMean(p.c, momentum, c.limits), [mean], runMean, {
        running_mean: param(c, n.name, 'running_mean'),
      }),
      ...twoLevelSteps(c, channelRunningVar(p, momentum, c.limits), [x, mean], runVar, {
        running_var: param(c, n.name, 'running_var'),
      }),
    ];
  },
  batchNormGrad(n, c) {
    const [dy, x, mean, inv] = n.inputs as [string, string, string, string];
    const [dx, dw, db] = n.outputs as [string, string, string];
    const p = layout(c.shape(x));
    return [
      ...twoLevelSteps(c, channelSumDy(p, c.limits), [dy], db),
      ...twoLevelSteps(c, batchNormDweight(p, c.limits), [dy, x, mean, inv], dw),
      kernelStep(c, renderBatchNormDx(p, c.limits), [dy, x, mean, inv, dw, db], dx, {
        weight: param(c, n.name, 'weight'),
      }),
    ];
  },
  groupNormGrad(n, c) {
    const [dy, x] = n.inputs as [string, string];
    const [dx, dw, db] = n.outputs as [string, string, string];
    const shape = c.shape(x);
    const p = { ...layout(shape), groups: n.attrs.groups, eps: n.attrs.eps };
    const rows = (suffix: string) => c.scratch(suffix, [p.n * p.groups]);
    const [mean, inv, sd, sdx] = [rows('mean'), rows('inv'), rows('sumD'), rows('sumDXhat')];
    const weight = { weight: param(c, n.name, 'weight') };
    return [
      ...twoLevelSteps(c, groupMean(p, c.limits), [x], mean),
      ...twoLevelSteps(c, groupInvStd(p, c.limits), [x, mean], inv),
      ...twoLevelSteps(c, groupSumD(p, c.limits), [dy], sd, weight),
      ...twoLevelSteps(c, groupSumDXhat(p, c.limits), [dy, x, mean, inv], sdx, weight),
      kernelStep(c, renderGroupNormDx(p, c.limits), [dy, x, mean, inv, sd, sdx], dx, weight),
      ...twoLevelSteps(c, groupNormDweight(p, c.limits), [dy, x, mean, inv], dw),
      ...twoLevelSteps(c, channelSumDy(p, c.limits), [dy], db),
    ];
  },
  conv2dGradInput(n, c) {
    const [dy, w] = n.inputs as [string, string];
    const [nb, , oh, ow] = c.shape(dy) as [number, number, number, number];
    const [, ch, h, wd] = c.shape(n.outputs[0]!) as [number, number, number, number];
    const problem = { n: nb, c: ch, h, w: wd, oh, ow, attrs: n.attrs };
    return [kernelStep(c, renderConvGradInput(problem, c.limits), [dy, w], n.outputs[0]!)];
  },
  conv2dGradWeight(n, c) {
    const [x, dy] = n.inputs as [string, string];
    const [nb, ch, h, w] = c.shape(x) as [number, number, number, number];
    const [, , oh, ow] = c.shape(dy) as [number, number, number, number];
    const problem = { n: nb, c: ch, h, w, oh, ow, attrs: n.attrs };
    const dw = n.outputs[0]!;
    const { parts } = weightGradParts(problem);
    const kernel = renderConvGradWeight(problem, c.limits);
    if (parts === 1) return [kernelStep(c, kernel, [x, dy], dw)];
    const partials = c.scratch('partials', [shapeSize(c.shape(dw)) * parts]);
    return [
      kernelStep(c, kernel, [x, dy], partials),
      kernelStep(
        c,
        renderCombineParts('convGradWeightSum', { outputs: shapeSize(c.shape(dw)), parts }, c.limits),
        [partials],
        dw,
      ),
    ];
  },
  reluGrad: (n, c) => [
    kernelStep(
      c,
      renderActivationGrad('reluGrad', shapeSize(c.shape(n.outputs[0]!)), c.limits),
      [...n.inputs],
      n.outputs[0]!,
    ),
  ],
  sigmoidGrad: (n, c) => [
    kernelStep(
      c,
      renderActivationGrad('sigmoidGrad', shapeSize(c.shape(n.outputs[0]!)), c.limits),
      [...n.inputs],
      n.outputs[0]!,
    ),
  ],
  expand: (n, c) => [
    kernelStep(
      c,
      renderExpand(c.shape(n.inputs[0]!), n.attrs.shape, c.limits),
      [n.inputs[0]!],
      n.outputs[0]!,
    ),
  ],
  scale: (n, c) => [
    kernelStep(
      c,
      renderScale(shapeSize(c.shape(n.inputs[0]!)), n.attrs.alpha, c.limits),
      [n.inputs[0]!],
      n.outputs[0]!,
    ),
  ],
  logSoftmax(n, c) {
    const shape = c.shape(n.inputs[0]!);
    const axis = n.attrs.axis < 0 ? n.attrs.axis + shape.length : n.attrs.axis;
    const view = {
      outer: shapeSize(shape.slice(0, axis)),
      len: shape[axis]!,
      inner: shapeSize(shape.slice(axis + 1)),
    };
    return [kernelStep(c, renderLogSoftmax(view, c.limits), [n.inputs[0]!], n.outputs[0]!)];
  },
  maxPoolGrad(n, c) {
    const [dy, x] = n.inputs as [string, string];
    const [nb, ch, h, w] = c.shape(x) as [number, number, number, number];
    const [, , oh, ow] = c.shape(dy) as [number, number, number, number];
    const p = { planes: nb * ch, h, w, oh, ow };
    return [kernelStep(c, renderMaxPoolGrad(p, n.attrs, c.limits), [dy, x], n.outputs[0]!)];
  },
  avgPoolGrad(n, c) {
    const [h, w] = n.attrs.inputSize;
    const rows = avgPoolAxis(h, n.attrs, 0);
    const cols = avgPoolAxis(w, n.attrs, 1);
    return separable('avgPoolGrad', n.name, n.inputs[0]!, n.outputs[0]!, rows, cols, c);
  },
  blurPoolGrad(n, c) {
    const [h, w] = n.attrs.inputSize;
    const rows = blurAxis(h, n.attrs.filterSize, n.attrs.stride);
    const cols = blurAxis(w, n.attrs.filterSize, n.attrs.stride);
    return separable('blurPoolGrad', n.name, n.inputs[0]!, n.outputs[0]!, rows, cols, c);
  },
};
