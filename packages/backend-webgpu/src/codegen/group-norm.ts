/**
 * GroupNorm, forward and backward. A group of a sample is a contiguous row of
 * len = C / groups * inner values, and every statistic of it is a two-level sum (partials.ts):
 * one group of a 224x224 model holds more values than llvmpipe lets one invocation loop over.
 * The per-element kernels then read the row's statistics.
 */
import {
  constantRead,
  f32Literal,
  gatherKernel,
  inputRead,
  type KernelSource,
  type RenderLimits,
  u32Literal,
} from './kernel.js';
import { type TwoLevelSum, twoLevelSum } from './partials.js';

const U = u32Literal;
const F = f32Literal;

/** [N, C, inner] in `groups` groups: rows = N * groups, each of len values. */
export interface GroupLayout {
  n: number;
  c: number;
  inner: number;
  groups: number;
  eps: number;
}

const lenOf = (p: GroupLayout) => (p.c / p.groups) * p.inner;
/** The groups' values: output o is row o (sample o / groups, group o % groups), contiguous. */
const groupRows = (p: GroupLayout) => ({
  outputs: p.n * p.groups,
  count: lenOf(p),
  index: `o * ${U(lenOf(p))} + j`,
});
/** The channel of flat index `i`. */
const channel = (p: GroupLayout, i: string) => `((${i} / ${U(p.inner)}) % ${U(p.c)})`;

/** Each group's mean (partial input 0: x). */
export function groupMean(p: GroupLayout, limits: RenderLimits): TwoLevelSum {
  return twoLevelSum('gnMean', groupRows(p), [inputRead('x', 0)], 'x[i]', limits, {
    finish: `s / ${F(lenOf(p))}`,
  });
}

/** Each group's 1 / sqrt(var + eps), the biased variance about its mean (partial inputs x, mean). */
export function groupInvStd(p: GroupLayout, limits: RenderLimits): TwoLevelSum {
  const reads = [inputRead('x', 0), inputRead('mean', 1)];
  return twoLevelSum('gnInvStd', groupRows(p), reads, '(x[i] - m) * (x[i] - m)', limits, {
    init: '  let m = mean[o];\n',
    finish: `1.0 / sqrt(s / ${F(lenOf(p))} + ${F(p.eps)})`,
  });
}

/** y = x * s + t with s = weight * invStd, t = bias - mean * s (inputs x, mean, invStd; constants weight, bias). */
export function renderGroupNormApply(p: GroupLayout, limits: RenderLimits): KernelSource {
  const body = `  let row = gid / ${U(lenOf(p))};
  let ch = ${channel(p, 'gid')};
  let s = weight[ch] * inv[row];
  y[gid] = fma(x[gid], s, bias[ch] - mean[row] * s);`;
  const reads = [
    inputRead('x', 0),
    inputRead('mean', 1),
    inputRead('inv', 2),
    constantRead('weight'),
    constantRead('bias'),
  ];
  return gatherKernel('groupNorm', reads, p.n * p.c * p.inner, body, limits);
}

/** Each group's sum of d = dy * weight[c] (partial inputs dy; constant weight). */
export function groupSumD(p: GroupLayout, limits: RenderLimits): TwoLevelSum {
  const reads = [inputRead('dy', 0), constantRead('weight')];
  return twoLevelSum('gnSumD', groupRows(p), reads, `dy[i] * weight[${channel(p, 'i')}]`, limits);
}

/** Each group's sum of d * xhat (partial inputs dy, x, mean, invStd; constant weight). */
export function groupSumDXhat(p: GroupLayout, limits: RenderLimits): TwoLevelSum {
  const reads = [
    inputRead('dy', 0),
    inputRead('x', 1),
    inputRead('mean', 2),
    inputRead('inv', 3),
    constantRead('weight'),
  ];
  const term = `dy[i] * weight[${channel(p, 'i')}] * (x[i] - m) * iv`;
  return twoLevelSum('gnSumDXhat', groupRows(p), reads, term, limits, {
    init: '  let m = mean[o];\n  let iv = inv[o];\n',
  });
}

/**
 * dx = invStd * (d - mean(d) - xhat * mean(d * xhat)), d = dy * weight[c] (inputs dy, x, mean,
 * invStd, sum d, sum d * xhat; constant weight).
 */
export function renderGroupNormDx(p: GroupLayout, limits: RenderLimits): KernelSource {
  const len = F(lenOf(p));
  const body = `  let row = gid / ${U(lenOf(p))};
  let iv = inv[row];
  let d = dy[gid] * weight[${channel(p, 'gid')}];
  y[gid] = iv * (d - sd[row] / ${len} - (x[gid] - mean[row]) * iv * (sdx[row] / ${len}));`;
  const reads = [
    inputRead('dy', 0),
    inputRead('x', 1),
    inputRead('mean', 2),
    inputRead('inv', 3),
    inputRead('sd', 4),
    inputRead('sdx', 5),
    constantRead('weight'),
  ];
  return gatherKernel('gnDx', reads, p.n * p.c * p.inner, body, limits);
}
