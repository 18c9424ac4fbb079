/**
 * Long sums in two levels, for every kernel that reduces many values per output: llvmpipe ends
 * an invocation's loops after about 65,535 iterations in all, and a float32 running sum of n
 * values drifts by up to n ulps, so no invocation sums more than REDUCE_CHUNK values; a second
 * kernel combines each output's partial results (as accurate as ONNX Runtime's within a few
 * times; the reference sums in float64).
 */
import {
  gatherKernel,
  inputRead,
  type KernelRead,
  type KernelSource,
  type RenderLimits,
  u32Literal,
} from './kernel.js';

const U = u32Literal;

/** Values one invocation reduces at most. */
export const REDUCE_CHUNK = 512;

/** Partial results per output for `count` values per output. */
export const chunksOf = (count: number) => Math.ceil(count / REDUCE_CHUNK);

/**
 * Invocation (o, q) of `outputs * parts` combines partials[o * parts + q] over q (input 0,
 * `partial`) into `s` (a sum, or a max), then writes y[o] = `finish` (an expression of `s` and
 * `o`, which may read `extra`).
 */
export function renderCombineParts(
  kind: string,
  p: { outputs: number; parts: number; mode?: 'sum' | 'max'; finish?: string },
  limits: RenderLimits,
  extra: readonly KernelRead[] = [],
): KernelSource {
  const max = p.mode === 'max';
  const body = `  let o = gid;
  var s = ${max ? '-3.4028234663852886e+38' : '0.0'};
  for (var q = 0u; q < ${U(p.parts)}; q++) {
    let v = partial[o * ${U(p.parts)} + q];
    ${max ? 's = max(s, v);' : 's += v;'}
  }
  y[o] = ${p.finish ?? 's'};`;
  return gatherKernel(kind, [inputRead('partial', 0), ...extra], p.outputs, body, limits);
}

/** Sums of `count` values per output, value j of output o at flat index `index` (WGSL of `o`, `j`). */
export interface SegmentedSum {
  outputs: number;
  count: number;
  index: string;
}

/** A two-level sum's kernels, and the scratch its partials take ([outputs * parts]). */
export interface TwoLevelSum {
  partial: KernelSource;
  finish: KernelSource;
  outputs: number;
  parts: number;
}

/**
 * The sum of `term` (an expression of the flat index `i`; `init` may read the output `o`) over
 * each output's values, then `finish` of it (an expression of the sum `s` and `o`). The partial
 * kernel reads `reads`; the finish kernel reads the partials, then `finishReads`.
 */
export function twoLevelSum(
  kind: string,
  seg: SegmentedSum,
  reads: readonly KernelRead[],
  term: string,
  limits: RenderLimits,
  o: { init?: string; finish?: string; finishReads?: readonly KernelRead[] } = {},
): TwoLevelSum {
  const parts = chunksOf(seg.count);
  const body = `  let o = gid / ${U(parts)};
  let j0 = (gid % ${U(parts)}) * ${U(REDUCE_CHUNK)};
  let j1 = min(j0 + ${U(REDUCE_CHUNK)}, ${U(seg.count)});
${o.init ?? ''}  var s = 0.0;
  for (var j = j0; j < j1; j++) {
    let i = ${seg.index};
    s += ${term};
  }
  y[gid] = s;`;
  return {
    partial: gatherKernel(`${kind}Partial`, reads, seg.outputs * parts, body, limits),
    finish: renderCombineParts(
      kind,
      { outputs: seg.outputs, parts, ...(o.finish ? { finish: o.finish } : {}) },
      limits,
      o.finishReads,
    ),
    outputs: seg.outputs,
    parts,
  };
}
