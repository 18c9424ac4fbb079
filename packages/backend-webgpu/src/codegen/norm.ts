import { binomialTaps, blurOutLength, blurPadding } from '@cardinal/core';
import {
  entryPoint,
  f32Literal,
  type KernelSource,
  pickWorkgroupSize,
  type RenderLimits,
  storage,
  u32Literal,
  unaryKernel,
} from './kernel.js';

/**
 * GroupNorm in one kernel: an invocation per (sample, group) takes the mean, then the biased
 * variance about it (two passes, as the reference does, so no cancellation), then writes the
 * group's normalised values with the per-channel affine.
 */
export function renderGroupNorm(
  p: { n: number; c: number; inner: number; groups: number; eps: number },
  limits: RenderLimits,
): KernelSource {
  const U = u32Literal;
  const per = p.c / p.groups;
  const len = per * p.inner;
  const invocations = p.n * p.groups;
  const wg = pickWorkgroupSize(limits, 32);
  const body = `  let base = gid * ${U(len)};
  var mean = 0.0;
  for (var i = 0u; i < ${U(len)}; i++) { mean += x[base + i]; }
  mean = mean / ${f32Literal(len)};
  var v = 0.0;
  for (var i = 0u; i < ${U(len)}; i++) { let d = x[base + i] - mean; v += d * d; }
  let inv = inverseSqrt(v / ${f32Literal(len)} + ${f32Literal(p.eps)});
  let c0 = (gid % ${U(p.groups)}) * ${U(per)};
  for (var k = 0u; k < ${U(per)}; k++) {
    let s = weight[c0 + k] * inv;
    let t = bias[c0 + k] - mean * s;
    let o = base + k * ${U(p.inner)};
    for (var i = 0u; i < ${U(p.inner)}; i++) { y[o + i] = fma(x[o + i], s, t); }
  }`;
  return {
    kind: 'groupNorm',
    wgsl: [
      storage(0, 'x', 'read'),
      storage(1, 'weight', 'read'),
      storage(2, 'bias', 'read'),
      storage(3, 'y', 'read_write'),
      entryPoint(wg, invocations, limits, body),
    ].join('\n'),
    bindings: [
      { kind: 'tensor', role: 'input', index: 0 },
      { kind: 'constant', name: 'weight' },
      { kind: 'constant', name: 'bias' },
      { kind: 'tensor', role: 'output', index: 0 },
    ],
    invocations,
    workgroupSize: wg,
  };
}

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
