import type { KernelSource, RenderLimits } from './kernel.js';
import { entryPoint, pickWorkgroupSize, storage, u32Literal, unaryKernel } from './kernel.js';

/**
 * Softmax along one axis of a tensor viewed as [outer, len, inner]: one invocation per
 * (outer, inner) pair, max-subtracted for range. The axis is short here (radix, SK paths).
 */
export function renderSoftmax(
  p: { outer: number; len: number; inner: number },
  limits: RenderLimits,
): KernelSource {
  const U = u32Literal;
  const invocations = p.outer * p.inner;
  const body = `  let b = (gid / ${U(p.inner)}) * ${U(p.len * p.inner)} + gid % ${U(p.inner)};
  var m = x[b];
  for (var j = 1u; j < ${U(p.len)}; j++) { m = max(m, x[b + j * ${U(p.inner)}]); }
  var s = 0.0;
  for (var j = 0u; j < ${U(p.len)}; j++) { s += exp(x[b + j * ${U(p.inner)}] - m); }
  for (var j = 0u; j < ${U(p.len)}; j++) { y[b + j * ${U(p.inner)}] = exp(x[b + j * ${U(p.inner)}] - m) / s; }`;
  return unaryKernel('softmax', invocations, body, limits);
}

/**
 * y[n, o] = sum_i x[n, i] * w[o, i] + b[o], four outputs per invocation from weights packed
 * as [in][out / 4] vec4 (out padded to a multiple of 4).
 */
export function renderLinear(
  p: { n: number; inF: number; outF: number; bias: boolean },
  limits: RenderLimits,
): KernelSource {
  const U = u32Literal;
  const o4 = Math.ceil(p.outF / 4);
  const invocations = p.n * o4;
  const wg = pickWorkgroupSize(limits);
  const writes = [0, 1, 2, 3]
    .map(
      (c) =>
        `  if (o + ${U(c)} < ${U(p.outF)}) { y[n * ${U(p.outF)} + o + ${U(c)}] = acc.${'xyzw'[c]}${p.bias ? ` + bias[o + ${U(c)}]` : ''}; }`,
    )
    .join('\n');
  const body = `  let o = (gid % ${U(o4)}) * 4u;
  let n = gid / ${U(o4)};
  var acc = vec4<f32>(0.0);
  for (var i = 0u; i < ${U(p.inF)}; i++) { acc = fma(wt[i * ${U(o4)} + o / 4u], vec4<f32>(x[n * ${U(p.inF)} + i]), acc); }
${writes}`;
  const decl = [
    storage(0, 'x', 'read'),
    storage(1, 'wt', 'read', 'vec4<f32>'),
    ...(p.bias ? [storage(2, 'bias', 'read')] : []),
    storage(p.bias ? 3 : 2, 'y', 'read_write'),
  ];
  return {
    kind: 'linear',
    wgsl: `${decl.join('\n')}\n${entryPoint(wg, invocations, limits, body)}`,
    bindings: [
      { kind: 'tensor', role: 'input', index: 0 },
      { kind: 'constant', name: 'weight' },
      ...(p.bias ? [{ kind: 'constant', name: 'bias' } as const] : []),
      { kind: 'tensor', role: 'output', index: 0 },
    ],
    invocations,
    workgroupSize: wg,
  };
}

/** Linear weights [out, in] -> [in][ceil(out / 4) * 4], zero-padded. */
export function packLinearWeights(w: Float32Array, inF: number, outF: number): Float32Array {
  const o4 = Math.ceil(outF / 4) * 4;
  const out = new Float32Array(inF * o4);
  for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) out[i * o4 + o] = w[o * inF + i]!;
  return out;
}
