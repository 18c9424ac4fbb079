/**
 * GroupNorm, forward and backward. A group of a sample is a contiguous row of
 * len = C / groups * inner values, and every statistic of it is a row sum taken in two levels
 * (chunks of REDUCE_CHUNK into scratch, then their sum): llvmpipe ends an invocation's loops
 * after about 65,535 iterations, less than one group of a 224x224 model holds. The per-element
 * kernels then read the row's statistics.
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

/** [N, C, inner] in `groups` groups: rows = N * groups, each of len values. */
export interface GroupLayout {
  n: number;
  c: number;
  inner: number;
  groups: number;
  eps: number;
}

const rowsOf = (p: GroupLayout) => p.n * p.groups;
const lenOf = (p: GroupLayout) => (p.c / p.groups) * p.inner;
/** Partial sums per row. */
export const rowParts = (p: GroupLayout) => Math.ceil(lenOf(p) / REDUCE_CHUNK);
/** The channel of flat index `i`. */
const channel = (p: GroupLayout, i: string) => `((${i} / ${U(p.inner)}) % ${U(p.c)})`;

/** A row statistic as its two kernels: partial sums of a term, then `finish` of their sum `s`. */
export interface RowStatistic {
  partial: KernelSource;
  finish: KernelSource;
}

/**
 * Invocation (row, q) sums `term` (an expression of the flat index `i`; `init` may read `row`)
 * over chunk q of the row. Output [rows * parts].
 */
function rowPartial(
  kind: string,
  p: GroupLayout,
  reads: readonly KernelRead[],
  term: string,
  limits: RenderLimits,
  init = '',
): KernelSource {
  const parts = rowParts(p);
  const len = lenOf(p);
  const body = `  let row = gid / ${U(parts)};
  let j0 = (gid % ${U(parts)}) * ${U(REDUCE_CHUNK)};
  let j1 = min(j0 + ${U(REDUCE_CHUNK)}, ${U(len)});
${init}  var s = 0.0;
  for (var j = j0; j < j1; j++) { let i = row * ${U(len)} + j; s += ${term}; }
  y[gid] = s;`;
  return gatherKernel(`${kind}Partial`, reads, rowsOf(p) * parts, body, limits);
}

/** Per row: s, the sum of its partials (input 0), then y[row] = `finish`. */
function rowFinish(kind: string, p: GroupLayout, finish: string, limits: RenderLimits): KernelSource {
  const parts = rowParts(p);
  const body = `  let row = gid;
  var s = 0.0;
  for (var q = 0u; q < ${U(parts)}; q++) { s += partial[row * ${U(parts)} + q]; }
  y[row] = ${finish};`;
  return gatherKernel(kind, [inputRead('partial', 0)], rowsOf(p), body, limits);
}

/** Each group's mean (partial input 0: x). */
export function groupMean(p: GroupLayout, limits: RenderLimits): RowStatistic {
  return {
    partial: rowPartial('gnMean', p, [inputRead('x', 0)], 'x[i]', limits),
    finish: rowFinish('gnMean', p, `s / ${F(lenOf(p))}`, limits),
  };
}

/** Each group's 1 / sqrt(var + eps), the biased variance about its mean (partial inputs x, mean). */
export function groupInvStd(p: GroupLayout, limits: RenderLimits): RowStatistic {
  return {
    partial: rowPartial(
      'gnInvStd',
      p,
      [inputRead('x', 0), inputRead('mean', 1)],
      '(x[i] - m) * (x[i] - m)',
      limits,
      '  let m = mean[row];\n',
    ),
    finish: rowFinish('gnInvStd', p, `1.0 / sqrt(s / ${F(lenOf(p))} + ${F(p.eps)})`, limits),
  };
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
export function groupSumD(p: GroupLayout, limits: RenderLimits): RowStatistic {
  return {
    partial: rowPartial(
      'gnSumD',
      p,
      [inputRead('dy', 0), constantRead('weight')],
      `dy[i] * weight[${channel(p, 'i')}]`,
      limits,
    ),
    finish: rowFinish('gnSumD', p, 's', limits),
  };
}

/** Each group's sum of d * xhat (partial inputs dy, x, mean, invStd; constant weight). */
export function groupSumDXhat(p: GroupLayout, limits: RenderLimits): RowStatistic {
  const reads = [
    inputRead('dy', 0),
    inputRead('x', 1),
    inputRead('mean', 2),
    inputRead('inv', 3),
    constantRead('weight'),
  ];
  return {
    partial: rowPartial(
      'gnSumDXhat',
      p,
      reads,
      `dy[i] * weight[${channel(p, 'i')}] * (x[i] - m) * iv`,
      limits,
      '  let m = mean[row];\n  let iv = inv[row];\n',
    ),
    finish: rowFinish('gnSumDXhat', p, 's', limits),
  };
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
