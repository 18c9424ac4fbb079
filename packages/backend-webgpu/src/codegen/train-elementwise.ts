/** The element-wise training ops: activation backward passes, expand, scale and log-softmax. */
import {
  f32Literal,
  gatherKernel,
  inputRead,
  type KernelSource,
  type RenderLimits,
  u32Literal,
  unaryKernel,
} from './kernel.js';

const U = u32Literal;

/** From (dy, y): reluGrad passes dy where y > 0; sigmoidGrad is dy * y * (1 - y). */
export function renderActivationGrad(
  op: 'reluGrad' | 'sigmoidGrad',
  size: number,
  limits: RenderLimits,
): KernelSource {
  const expr =
    op === 'reluGrad' ? 'select(0.0, dy[gid], out[gid] > 0.0)' : 'dy[gid] * out[gid] * (1.0 - out[gid])';
  return gatherKernel(op, [inputRead('dy', 0), inputRead('out', 1)], size, `  y[gid] = ${expr};`, limits);
}

/** alpha * x. */
export function renderScale(size: number, alpha: number, limits: RenderLimits): KernelSource {
  return unaryKernel('scale', size, `  y[gid] = ${f32Literal(alpha)} * x[gid];`, limits);
}

/** x broadcast to `shape` (each axis equal, or 1 in x): the source index from the output's digits. */
export function renderExpand(
  xShape: readonly number[],
  shape: readonly number[],
  limits: RenderLimits,
): KernelSource {
  const terms: string[] = [];
  let outStride = 1;
  let xStride = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    if (xShape[k] !== 1) terms.push(`((gid / ${U(outStride)}) % ${U(shape[k]!)}) * ${U(xStride)}`);
    outStride *= shape[k]!;
    xStride *= xShape[k]!;
  }
  const src = terms.length ? terms.join(' + ') : '0u';
  return unaryKernel('expand', outStride, `  y[gid] = x[${src}];`, limits);
}

/** log-softmax along an axis, max-shifted: x - max - log(sum(exp(x - max))). */
export function renderLogSoftmax(
  p: { outer: number; len: number; inner: number },
  limits: RenderLimits,
): KernelSource {
  const at = (j: string) => `x[b + ${j} * ${U(p.inner)}]`;
  const body = `  let b = (gid / ${U(p.inner)}) * ${U(p.len * p.inner)} + gid % ${U(p.inner)};
  var m = x[b];
  for (var j = 1u; j < ${U(p.len)}; j++) { m = max(m, ${at('j')}); }
  var s = 0.0;
  for (var j = 0u; j < ${U(p.len)}; j++) { s += exp(${at('j')} - m); }
  let lse = m + log(s);
  for (var j = 0u; j < ${U(p.len)}; j++) { y[b + j * ${U(p.inner)}] = ${at('j')} - lse; }`;
  return unaryKernel('logSoftmax', p.outer * p.inner, body, limits);
}
