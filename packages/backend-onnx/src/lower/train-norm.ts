import type { NodeBase } from '@cardinal/core';
import { intAttr, intsAttr } from '../proto.js';
import { emitStep, type Lowering, type LoweringContext } from './context.js';

/** Steps of one IR node: intermediates `<node>/<step>`, or the node's output k. */
function stepper(ctx: LoweringContext, node: NodeBase) {
  return (
    step: string,
    opType: string,
    inputs: string[],
    attrs: ReturnType<typeof intAttr>[] = [],
    output?: number,
  ) => {
    if (output === undefined) return emitStep(ctx, node, step, opType, inputs, attrs);
    ctx.emit({ ...node, name: `${node.name}/${step}` }, opType, inputs, attrs, [node.outputs[output]!]);
    return node.outputs[output]!;
  };
}

/** The axes BatchNorm reduces over (all but channels) and the count of values per channel. */
function channelAxes(shape: readonly number[]): { axes: number[]; count: number; perChannel: number[] } {
  const axes = shape.map((_, i) => i).filter((i) => i !== 1);
  const count = axes.reduce((p, i) => p * shape[i]!, 1);
  return { axes, count, perChannel: shape.map((d, i) => (i === 1 ? d : 1)) };
}

/**
 * batchNormTrain -> the batch statistics with ReduceMean (biased variance), the normalisation,
 * and the running statistics' update (unbiased variance, PyTorch's momentum) as plain ops.
 */
export const lowerBatchNormTrain: Lowering<'batchNormTrain'> = (node, ctx) => {
  const s = stepper(ctx, node);
  const shape = ctx.shape(node.inputs[0]!);
  const c = shape[1]!;
  const { axes, count, perChannel } = channelAxes(shape);
  const { eps, momentum: m } = node.attrs;
  const k = (name: string, v: number) => ctx.constant(`${node.name}::${name}`, [], Float32Array.of(v));
  const param = (role: string, dims: number[]) => {
    const t = ctx.weight(node, role);
    return ctx.constant(node.params[role]!, dims, t.data);
  };
  const reduce = [intsAttr('axes', axes), intAttr('keepdims', 1)];
  const x = node.inputs[0]!;
  const mean = s('mean', 'ReduceMean', [x], reduce);
  const centred = s('centred', 'Sub', [x, mean]);
  const variance = s('var', 'ReduceMean', [s('square', 'Mul', [centred, centred])], reduce);
  const invStd = s('inv_std', 'Reciprocal', [
    s('std', 'Sqrt', [s('var_eps', 'Add', [variance, k('eps', eps)])]),
  ]);
  const scale = s('scale', 'Mul', [invStd, param('weight', perChannel)]);
  s('y', 'Add', [s('scaled', 'Mul', [centred, scale]), param('bias', perChannel)], [], 0);
  const flat = ctx.ints(`${node.name}::flat`, [c]);
  s('mean_out', 'Reshape', [mean, flat], [], 1);
  s('inv_std_out', 'Reshape', [invStd, flat], [], 2);
  const keep = k('keep', 1 - m);
  const mix = (name: string, old: string, batch: string, w: number, out: number) =>
    s(
      name,
      'Add',
      [
        s(`${name}_old`, 'Mul', [param(old, [c]), keep]),
        s(`${name}_new`, 'Mul', [s(`${name}_flat`, 'Reshape', [batch, flat]), k(`${name}_w`, w)]),
      ],
      [],
      out,
    );
  mix('running_mean', 'running_mean', mean, m, 3);
  mix('running_var', 'running_var', variance, (m * count) / (count - 1), 4);
};

/**
 * batchNormGrad -> the two sums, then dx as one affine map of dy and the centred x per channel:
 * with c = x - mean, dweight = invStd * sum(dy * c), dbias = sum(dy), k = weight * invStd,
 * dx = k * dy - (k * invStd * dweight / n) * c - k * dbias / n: five full-size kernels, not nine.
 */
export const lowerBatchNormGrad: Lowering<'batchNormGrad'> = (node, ctx) => {
  const s = stepper(ctx, node);
  const [dy, x, mean, invStd] = node.inputs as [string, string, string, string];
  const shape = ctx.shape(x);
  const { axes, count, perChannel } = channelAxes(shape);
  const asChannel = ctx.ints(`${node.name}::per_channel`, perChannel);
  const w = ctx.weight(node, 'weight');
  const weight = ctx.constant(node.params.weight!, perChannel, w.data);
  const axesT = ctx.ints(`${node.name}::axes`, axes);
  const keep = [intAttr('keepdims', 1)];
  const i4 = s('inv4', 'Reshape', [invStd, asChannel]);
  const centred = s('centred', 'Sub', [x, s('mean4', 'Reshape', [mean, asChannel])]);
  const sumDy = s('sum_dy', 'ReduceSum', [dy, axesT], keep);
  const dw = s('dweight4', 'Mul', [
    s('sum_dy_c', 'ReduceSum', [s('dy_c', 'Mul', [dy, centred]), axesT], keep),
    i4,
  ]);
  const negInvN = ctx.constant(`${node.name}::neg_inv_count`, [], Float32Array.of(-1 / count));
  const k = s('k', 'Mul', [weight, i4]);
  const kc = s('k_c', 'Mul', [s('k_inv', 'Mul', [k, i4]), s('dw_n', 'Mul', [dw, negInvN])]);
  const shift = s('shift', 'Mul', [k, s('db_n', 'Mul', [sumDy, negInvN])]);
  const scaled = s('k_dy', 'Mul', [dy, k]);
  s('dx', 'Add', [s('with_c', 'Add', [scaled, s('c_term', 'Mul', [centred, kc])]), shift], [], 0);
  const flat = ctx.ints(`${node.name}::flat`, [shape[1]!]);
  s('dweight', 'Reshape', [dw, flat], [], 1);
  s('dbias', 'Reshape', [sumDy, flat], [], 2);
};

/** groupNormGrad -> per sample and group statistics on [N, G, -1], dx, and the per-channel sums. */
export const lowerGroupNormGrad: Lowering<'groupNormGrad'> = (node, ctx) => {
  const s = stepper(ctx, node);
  const [dy, x] = node.inputs as [string, string];
  const shape = ctx.shape(x);
  const { groups, eps } = node.attrs;
  const { axes, perChannel } = channelAxes(shape);
  const grouped = ctx.ints(`${node.name}::grouped`, [0, groups, -1]);
  const back = ctx.ints(`${node.name}::shape`, [0, ...shape.slice(1)]);
  const w = ctx.weight(node, 'weight');
  const weight = ctx.constant(node.params.weight!, perChannel.slice(1), w.data);
  const mean2 = [intsAttr('axes', [2]), intAttr('keepdims', 1)];
  const xg = s('xg', 'Reshape', [x, grouped]);
  const centred = s('centred', 'Sub', [xg, s('mean', 'ReduceMean', [xg], mean2)]);
  const variance = s('var', 'ReduceMean', [s('square', 'Mul', [centred, centred])], mean2);
  const eps1 = ctx.constant(`${node.name}::eps`, [], Float32Array.of(eps));
  const inv = s('inv_std', 'Reciprocal', [s('std', 'Sqrt', [s('var_eps', 'Add', [variance, eps1])])]);
  const xhatG = s('xhat_g', 'Mul', [centred, inv]);
  const xhat = s('xhat', 'Reshape', [xhatG, back]);
  const axesT = ctx.ints(`${node.name}::axes`, axes);
  s('dweight', 'ReduceSum', [s('dy_xhat', 'Mul', [dy, xhat]), axesT], [intAttr('keepdims', 0)], 1);
  s('dbias', 'ReduceSum', [dy, axesT], [intAttr('keepdims', 0)], 2);
  const d = s('d', 'Reshape', [s('dy_w', 'Mul', [dy, weight]), grouped]);
  const meanD = s('mean_d', 'ReduceMean', [d], mean2);
  const meanDX = s('mean_d_xhat', 'ReduceMean', [s('d_xhat', 'Mul', [d, xhatG])], mean2);
  const inner = s('inner', 'Sub', [
    s('d_centred', 'Sub', [d, meanD]),
    s('xhat_term', 'Mul', [xhatG, meanDX]),
  ]);
  s('dx', 'Reshape', [s('dx_g', 'Mul', [inner, inv]), back], [], 0);
};
