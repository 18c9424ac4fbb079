/**
 * Training-mode BatchNorm and the normalisations' backward passes. Each kernel writes one
 * tensor (a plan step has one output), so a node of several outputs is several kernels, each
 * re-reading what it needs; the per-channel statistics are two-level sums (partials.ts).
 */
import {
  constantRead,
  f32Literal,
  gatherKernel,
  inputRead,
  type KernelRead,
  type KernelSource,
  type RenderLimits,
  u32Literal,
} from './kernel.js';
import { type TwoLevelSum, twoLevelSum } from './partials.js';

const U = u32Literal;
const F = f32Literal;

/** An [N, C, inner] tensor's layout. */
export interface ChannelLayout {
  n: number;
  c: number;
  inner: number;
}

/** A channel's values, in (N, inner) order: output o is channel o, value j its j-th. */
const channels = (p: ChannelLayout) => ({
  outputs: p.c,
  count: p.n * p.inner,
  index: `((j / ${U(p.inner)}) * ${U(p.c)} + o) * ${U(p.inner)} + j % ${U(p.inner)}`,
});

const channelOf = (p: ChannelLayout) => `(gid / ${U(p.inner)}) % ${U(p.c)}`;

/** The batch mean per channel of x (partial input 0: x). */
export function channelMean(p: ChannelLayout, limits: RenderLimits): TwoLevelSum {
  return twoLevelSum('bnMean', channels(p), [inputRead('x', 0)], 'x[i]', limits, {
    finish: `s / ${F(p.n * p.inner)}`,
  });
}

/** Sum of squared deviations about the channel's mean (partial inputs x, mean), then `finish`. */
const squaredDeviation = (
  p: ChannelLayout,
  kind: string,
  limits: RenderLimits,
  finish: string,
  finishReads: KernelRead[] = [],
) =>
  twoLevelSum(
    kind,
    channels(p),
    [inputRead('x', 0), inputRead('mean', 1)],
    '(x[i] - m) * (x[i] - m)',
    limits,
    {
      init: '  let m = mean[o];\n',
      finish,
      finishReads,
    },
  );

/** 1 / sqrt(var + eps) per channel, the biased variance about the mean (partial inputs x, mean). */
export function channelInvStd(p: ChannelLayout, eps: number, limits: RenderLimits): TwoLevelSum {
  return squaredDeviation(p, 'bnInvStd', limits, `1.0 / sqrt(s / ${F(p.n * p.inner)} + ${F(eps)})`);
}

/**
 * The new running variance from the unbiased batch variance, as PyTorch's (partial inputs x,
 * mean; finish reads the constant running_var).
 */
export function channelRunningVar(p: ChannelLayout, momentum: number, limits: RenderLimits): TwoLevelSum {
  const count = p.n * p.inner;
  return squaredDeviation(
    p,
    'bnRunningVar',
    limits,
    `${F(1 - momentum)} * running_var[o] + ${F(momentum)} * (s / ${F(count - 1)})`,
    [constantRead('running_var')],
  );
}

/** sum(dy) per channel (partial input 0: dy): BatchNorm's and GroupNorm's dbias. */
export function channelSumDy(p: ChannelLayout, limits: RenderLimits): TwoLevelSum {
  return twoLevelSum('normDbias', channels(p), [inputRead('dy', 0)], 'dy[i]', limits);
}

/** sum(dy * xhat) per channel, xhat = (x - mean) * invStd (partial inputs dy, x, mean, invStd). */
export function batchNormDweight(p: ChannelLayout, limits: RenderLimits): TwoLevelSum {
  const reads = [inputRead('dy', 0), inputRead('x', 1), inputRead('mean', 2), inputRead('inv', 3)];
  return twoLevelSum('bnDweight', channels(p), reads, 'dy[i] * (x[i] - m) * iv', limits, {
    init: '  let m = mean[o];\n  let iv = inv[o];\n',
  });
}

/** y = (x - mean) * invStd * weight + bias (inputs x, mean, invStd; constants weight, bias). */
export function renderBatchNormApply(p: ChannelLayout, limits: RenderLimits): KernelSource {
  const body = `  let ch = ${channelOf(p)};
  let s = weight[ch] * inv[ch];
  y[gid] = x[gid] * s + (bias[ch] - mean[ch] * s);`;
  const reads = [inputRead('x', 0), inputRead('mean', 1), inputRead('inv', 2)];
  return gatherKernel(
    'bnApply',
    [...reads, constantRead('weight'), constantRead('bias')],
    p.n * p.c * p.inner,
    body,
    limits,
  );
}

/** The new running mean: (1 - momentum) * running_mean + momentum * mean (input mean). */
export function renderRunningMean(c: number, momentum: number, limits: RenderLimits): KernelSource {
  const body = `  y[gid] = ${F(1 - momentum)} * running_mean[gid] + ${F(momentum)} * mean[gid];`;
  return gatherKernel('bnRunningMean', [inputRead('mean', 0), constantRead('running_mean')], c, body, limits);
}

/**
 * dx = weight * invStd * (dy - dbias / n - xhat * dweight / n) (inputs dy, x, mean, invStd,
 * dweight, dbias; constant weight).
 */
export function renderBatchNormDx(p: ChannelLayout, limits: RenderLimits): KernelSource {
  const count = F(p.n * p.inner);
  const body = `  let ch = ${channelOf(p)};
  let iv = inv[ch];
  let xhat = (x[gid] - mean[ch]) * iv;
  y[gid] = weight[ch] * iv * (dy[gid] - db[ch] / ${count} - xhat * dw[ch] / ${count});`;
  const reads: KernelRead[] = [
    inputRead('dy', 0),
    inputRead('x', 1),
    inputRead('mean', 2),
    inputRead('inv', 3),
    inputRead('dw', 4),
    inputRead('db', 5),
    constantRead('weight'),
  ];
  return gatherKernel('bnDx', reads, p.n * p.c * p.inner, body, limits);
}

/** GroupNorm's dweight per channel: sum of dy * xhat, each sample's group statistics (partial inputs dy, x, mean, invStd). */
export function groupNormDweight(p: ChannelLayout & { groups: number }, limits: RenderLimits): TwoLevelSum {
  const g = `((j / ${U(p.inner)}) * ${U(p.groups)} + o / ${U(p.c / p.groups)})`;
  const reads = [inputRead('dy', 0), inputRead('x', 1), inputRead('mean', 2), inputRead('inv', 3)];
  return twoLevelSum('gnDweight', channels(p), reads, `dy[i] * (x[i] - mean[${g}]) * inv[${g}]`, limits);
}
