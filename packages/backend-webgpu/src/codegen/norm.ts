import { binomialTaps, blurOutLength, blurPadding } from '@cardinal/core';
import { f32Literal, type KernelSource, type RenderLimits, u32Literal, unaryKernel } from './kernel.js';

/** BlurPool2d: an invocation per output element, reflect indexing and the binomial taps baked in. */
export function renderBlurPool(
  p: { n: number; c: number; h: number; w: number; filterSize: number; stride: number },
  limits: RenderLimits,
): KernelSource {
  const U = u32Literal;
  const k = p.filterSize;
  const pad = blurPadding(k, p.stride);
  const oh = blurOutLength(p.h, k, p.stride);
  const ow = blurOutLength(p.w, k, p.stride);
  const taps = binomialTaps(k);
  const terms: string[] = [];
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++)
      terms.push(
        `${f32Literal(taps[i]! * taps[j]!)} * x[base + reflect_(i32(oy * ${U(p.stride)}) + ${i - pad}, ${p.h}) * ${U(p.w)} + reflect_(i32(ox * ${U(p.stride)}) + ${j - pad}, ${p.w})]`,
      );
  const helper = `fn reflect_(i: i32, n: i32) -> u32 {
  if (n == 1) { return 0u; }
  let period = 2 * (n - 1);
  let m = ((i % period) + period) % period;
  return u32(select(period - m, m, m < n));
}
`;
  const body = `  let ox = gid % ${U(ow)};
  let oy = (gid / ${U(ow)}) % ${U(oh)};
  let base = (gid / ${U(ow * oh)}) * ${U(p.h * p.w)};
  y[gid] = ${terms.join(' +\n    ')};`;
  const kernel = unaryKernel('blurPool', p.n * p.c * oh * ow, body, limits);
  return { ...kernel, wgsl: kernel.wgsl.replace('@compute', `${helper}@compute`) };
}
