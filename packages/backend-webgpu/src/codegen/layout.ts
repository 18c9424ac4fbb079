import { shapeSize, stridesOf } from '@cardinal/core';
import { type KernelSource, type RenderLimits, u32Literal, unaryKernel } from './kernel.js';

/**
 * Copies `len` slices of a tensor viewed as [outer, srcLen, inner] starting at `srcOffset`
 * into one viewed as [outer, dstLen, inner] at `dstOffset`: one part of a split, or one
 * input of a concat.
 */
export interface AxisCopyProblem {
  outer: number;
  inner: number;
  len: number;
  srcLen: number;
  srcOffset: number;
  dstLen: number;
  dstOffset: number;
}

export function renderAxisCopy(p: AxisCopyProblem, limits: RenderLimits, kind: string): KernelSource {
  const U = u32Literal;
  const invocations = p.outer * p.len * p.inner;
  const body = `  let i = gid % ${U(p.inner)};
  let j = (gid / ${U(p.inner)}) % ${U(p.len)};
  let o = gid / ${U(p.len * p.inner)};
  y[(o * ${U(p.dstLen)} + j + ${U(p.dstOffset)}) * ${U(p.inner)} + i] = x[(o * ${U(p.srcLen)} + j + ${U(p.srcOffset)}) * ${U(p.inner)} + i];`;
  return unaryKernel(kind, invocations, body, limits);
}

/** out[i] = in[perm-mapped i], strides baked in. */
export function renderTranspose(
  p: { shape: readonly number[]; perm: readonly number[] },
  limits: RenderLimits,
): KernelSource {
  const U = u32Literal;
  const inStrides = stridesOf(p.shape);
  const outShape = p.perm.map((a) => p.shape[a]!);
  const outStrides = stridesOf(outShape);
  const invocations = shapeSize(outShape);
  const terms = outShape.map(
    (d, k) => `((gid / ${U(outStrides[k]!)}) % ${U(d)}) * ${U(inStrides[p.perm[k]!]!)}`,
  );
  const body = `  y[gid] = x[${terms.join(' + ') || '0u'}];`;
  return unaryKernel('transpose', invocations, body, limits);
}
