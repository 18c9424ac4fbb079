import type { PoolAttrs } from '@cardinal/core';
import { UnsupportedError } from '@cardinal/core';
import { type EpilogueStep, epilogueHelpers, operandName, renderEpilogue } from './epilogue.js';
import type { BindingSlot, KernelSource, RenderLimits } from './kernel.js';
import { entryPoint, f32Literal, pickWorkgroupSize, storage, u32Literal, unaryKernel } from './kernel.js';

export interface PoolProblem {
  n: number;
  c: number;
  h: number;
  w: number;
  oh: number;
  ow: number;
  attrs: PoolAttrs;
  mode: 'max' | 'avg';
}

/**
 * Max or average pooling, one output element per invocation. The average follows PyTorch:
 * the window is clipped to the padded extent (the count_include_pad divisor), then to the
 * input (the other divisor); ceil mode comes in through the output size.
 */
export function renderPool(p: PoolProblem, limits: RenderLimits): KernelSource {
  const a = p.attrs;
  const U = u32Literal;
  const invocations = p.n * p.c * p.oh * p.ow;
  const [kh, kw] = a.kernel;
  const [pt, pl, pb, pr] = a.padding;
  const head = `  let ox = i32(gid % ${U(p.ow)});
  let oy = i32((gid / ${U(p.ow)}) % ${U(p.oh)});
  let base = (gid / ${U(p.oh * p.ow)}) * ${U(p.h * p.w)};
  let y0 = oy * ${a.stride[0]} - ${pt};
  let x0 = ox * ${a.stride[1]} - ${pl};`;
  let body: string;
  if (p.mode === 'max') {
    body = `${head}
  var m = -3.4028234663852886e38;
  var seen = false;
  for (var i = 0; i < ${kh}; i++) {
    let iy = y0 + i * ${a.dilation[0]};
    if (iy < 0 || iy >= ${p.h}) { continue; }
    for (var j = 0; j < ${kw}; j++) {
      let ix = x0 + j * ${a.dilation[1]};
      if (ix < 0 || ix >= ${p.w}) { continue; }
      let v = x[base + u32(iy) * ${U(p.w)} + u32(ix)];
      if (!seen || v > m || v != v) { m = v; }
      seen = true;
    }
  }
  y[gid] = m;`;
  } else {
    if (a.dilation[0] !== 1 || a.dilation[1] !== 1)
      throw new UnsupportedError('average pooling with dilation is not defined (PyTorch has none)');
    const divisor = a.countIncludePad ? 'f32((y1 - y0) * (x1 - x0))' : 'f32((yb - ya) * (xb - xa))';
    body = `${head}
  let y1 = min(y0 + ${kh}, ${p.h + pb});
  let x1 = min(x0 + ${kw}, ${p.w + pr});
  let ya = max(y0, 0);
  let xa = max(x0, 0);
  let yb = min(y1, ${p.h});
  let xb = min(x1, ${p.w});
  var s = 0.0;
  for (var iy = ya; iy < yb; iy++) {
    for (var ix = xa; ix < xb; ix++) { s += x[base + u32(iy) * ${U(p.w)} + u32(ix)]; }
  }
  let count = ${divisor};
  y[gid] = select(0.0, s / count, count > 0.0);`;
  }
  return unaryKernel(`${p.mode}Pool`, invocations, body, limits);
}

/**
 * Mean over H x W per (n, c), with an optional fused epilogue (the SE path's next op reads
 * the pooled value only). One invocation per channel sums its plane with vec4 loads.
 */
export function renderGlobalAvgPool(
  p: { n: number; c: number; hw: number; epilogue?: readonly EpilogueStep[] },
  limits: RenderLimits,
): KernelSource {
  const U = u32Literal;
  const invocations = p.n * p.c;
  const wg = pickWorkgroupSize(limits);
  const steps = p.epilogue ?? [];
  const vec = p.hw % 4 === 0;
  const load = vec
    ? `  let b = gid * ${U(p.hw / 4)};
  var s4 = vec4<f32>(0.0);
  for (var i = 0u; i < ${U(p.hw / 4)}; i++) { s4 += x[b + i]; }
  let s = (s4.x + s4.y) + (s4.z + s4.w);`
    : `  let b = gid * ${U(p.hw)};
  var s = 0.0;
  for (var i = 0u; i < ${U(p.hw)}; i++) { s += x[b + i]; }`;
  const value = renderEpilogue(`(s / ${f32Literal(p.hw)})`, steps, {
    full: 'gid',
    channel: 'gid',
    vec4: false,
  });
  const operands = steps.flatMap((s) => ('operand' in s ? [s] : []));
  const decl = [
    storage(0, 'x', 'read', vec ? 'vec4<f32>' : 'f32'),
    ...operands.map((s, i) => storage(1 + i, operandName(s.operand), 'read')),
    storage(1 + operands.length, 'y', 'read_write'),
  ];
  const bindings: BindingSlot[] = [
    { kind: 'tensor', role: 'input', index: 0 },
    ...operands.map((_, i): BindingSlot => ({ kind: 'tensor', role: 'operand', index: i })),
    { kind: 'tensor', role: 'output', index: 0 },
  ];
  return {
    kind: 'globalAvgPool',
    wgsl: `${decl.join('\n')}\n${epilogueHelpers(steps, false)}${entryPoint(wg, invocations, limits, `${load}\n  y[gid] = ${value};`)}`,
    bindings,
    invocations,
    workgroupSize: wg,
  };
}
