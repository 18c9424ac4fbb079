/**
 * Training-mode BatchNorm and the normalisations' backward passes. Each kernel writes one
 * tensor (a plan step has one output), so a node of several outputs is several kernels, each
 * re-reading what it needs: per-channel sums run one invocation per channel, summing each
 * sample's plane first (fewer float32 roundings than one long running sum).
 */
import { REDUCE_CHUNK } from './gather.js';
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

const U = u32Literal;
const F = f32Literal;

/** An [N, C, inner] tensor's layout. */
export interface ChannelLayout {
  n: number;
  c: number;
  inner: number;
}

/**
 * Values one invocation of a per-channel sum adds: llvmpipe stops an invocation's loops after
 * about 65,535 iterations in all, and a float32 running sum of n terms drifts by up to n ulps,
 * so a channel is summed in chunks whose partial sums a second kernel adds (a two-level sum,
 * as accurate as ONNX Runtime's within a few times; the reference sums in float64).
 */
export const SUM_CHUNK = REDUCE_CHUNK;

/** Partial sums per channel for an [N, C, inner] layout. */
export const partialsPerChannel = (p: ChannelLayout) => Math.ceil((p.n * p.inner) / SUM_CHUNK);

/**
 * Partial sums of `term` (an expression of the flat index `i`; `init` may read the channel
 * `ch`): invocation (ch, q) sums the channel's values q * SUM_CHUNK onwards, in (N, inner)
 * order. Output [C * partials].
 */
export function renderChannelPartial(
  kind: string,
  p: ChannelLayout,
  reads: readonly KernelRead[],
  term: string,
  limits: RenderLimits,
  init = '',
): KernelSource {
  const parts = partialsPerChannel(p);
  const total = p.n * p.inner;
  const body = `  let ch = gid / ${U(parts)};
  let j0 = (gid % ${U(parts)}) * ${U(SUM_CHUNK)};
  let j1 = min(j0 + ${U(SUM_CHUNK)}, ${U(total)});
${init}  var s = 0.0;
  for (var j = j0; j < j1; j++) {
    let i = ((j / ${U(p.inner)}) * ${U(p.c)} + ch) * ${U(p.inner)} + j % ${U(p.inner)};
    s += ${term};
  }
  y[gid] = s;`;
  return gatherKernel(`${kind}Partial`, reads, p.c * parts, body, limits);
}

/** Per channel: s, the sum of its partials (input 0), then y[ch] = `finish` (which may read `ch`). */
export function renderChannelFinish(
  kind: string,
  p: ChannelLayout,
  extra: readonly KernelRead[],
  finish: string,
  limits: RenderLimits,
): KernelSource {
  const parts = partialsPerChannel(p);
  const body = `  let ch = gid;
  var s = 0.0;
  for (var q = 0u; q < ${U(parts)}; q++) { s += partial[ch * ${U(parts)} + q]; }
  y[ch] = ${finish};`;
  return gatherKernel(kind, [inputRead('partial', 0), ...extra], p.c, body, limits);
}

const channelOf = (p: ChannelLayout) => `(gid / ${U(p.inner)}) % ${U(p.c)}`;

/** A per-channel statistic as its two kernels: partial sums of `term`, then `finish` of their sum. */
export interface ChannelStatistic {
  partial: KernelSource;
  finish: KernelSource;
}

/** The batch mean per channel of x (partial input 0: x). */
export function channelMean(p: ChannelLayout, limits: RenderLimits): ChannelStatistic {
  return {
    partial: renderChannelPartial('bnMean', p, [inputRead('x', 0)], 'x[i]', limits),
    finish: renderChannelFinish('bnMean', p, [], `s / ${F(p.n * p.inner)}`, limits),
  };
}

const squaredDeviation = (p: ChannelLayout, kind: string, limits: RenderLimits) =>
  renderChannelPartial(
    kind,
    p,
    [inputRead('x', 0), inputRead('mean', 1)],
    '(x[i] - m) * (x[i] - m)',
    limits,
    '  let m = mean[ch];\n',
  );

/** 1 / sqrt(var + eps) per channel, the biased variance about the mean (partial inputs x, mean). */
export function channelInvStd(p: ChannelLayout, eps: number, limits: RenderLimits): ChannelStatistic {
  return {
    partial: squaredDeviation(p, 'bnInvStd', limits),
    finish: renderChannelFinish('bnInvStd', p, [], `1.0 / sqrt(s / ${F(p.n * p.inner)} + ${F(eps)})`, limits),
  };
}

/**
 * The new running variance from the unbiased batch variance, as PyTorch's (partial inputs x,
 * mean; finish reads the constant running_var).
 */
export function channelRunningVar(
  p: ChannelLayout,
  momentum: number,
  limits: RenderLimits,
): ChannelStatistic {
  const count = p.n * p.inner;
  return {
    partial: squaredDeviation(p, 'bnRunningVar', limits),
    finish: renderChannelFinish(
      'bnRunningVar',
      p,
      [constantRead('running_var')],
      `${F(1 - momentum)} * running_var[ch] + ${F(momentum)} * (s / ${F(count - 1)})`,
      limits,
    ),
  };
}

/** sum(dy) per channel (partial input 0: dy): BatchNorm's and GroupNorm's dbias. */
export function channelSumDy(p: ChannelLayout, limits: RenderLimits): ChannelStatistic {
  return {
    partial: renderChannelPartial('normDbias', p, [inputRead('dy', 0)], 'dy[i]', limits),
    finish: renderChannelFinish('normDbias', p, [], 's', limits),
  };
}

/** sum(dy * xhat) per channel, xhat = (x - mean) * invStd (partial inputs dy, x, mean, invStd). */
export function batchNormDweight(p: ChannelLayout, limits: RenderLimits): ChannelStatistic {
  const reads = [inputRead('dy', 0), inputRead('x', 1), inputRead('mean', 2), inputRead('inv', 3)];
  return {
    partial: renderChannelPartial(
      'bnDweight',
      p,
      reads,
      'dy[i] * (x[i] - m) * iv',
      limits,
      '  let m = mean[ch];\n  let iv = inv[ch];\n',
    ),
    finish: renderChannelFinish('bnDweight', p, [], 's', limits),
  };
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
export function groupNormDweight(
  p: ChannelLayout & { groups: number },
  limits: RenderLimits,
): ChannelStatistic {
  const per = p.c / p.groups;
  const g = `((j / ${U(p.inner)}) * ${U(p.groups)} + ch / ${U(per)})`;
  const reads = [inputRead('dy', 0), inputRead('x', 1), inputRead('mean', 2), inputRead('inv', 3)];
  return {
    partial: renderChannelPartial('gnDweight', p, reads, `dy[i] * (x[i] - mean[${g}]) * inv[${g}]`, limits),
    finish: renderChannelFinish('gnDweight', p, [], 's', limits),
  };
}
