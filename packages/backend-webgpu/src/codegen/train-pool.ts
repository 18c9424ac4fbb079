/**
 * The poolings' backward passes. Max pooling: each input position gathers dy from the windows
 * whose first largest element it is (the scan order of the reference and of PyTorch's CPU
 * kernel). Average and blur pooling are separable linear maps A x B^T (core's per-axis
 * matrices); their backward A^T dy B runs as two kernels, along the width then the height.
 */
import type { PoolAttrs } from '@cardinal/core';
import {
  constantRead,
  gatherKernel,
  inputRead,
  type KernelSource,
  type RenderLimits,
  u32Literal,
} from './kernel.js';

const I = (v: number) => `${v}`;
const U = u32Literal;

/** Planes (n * c) of an h x w input pooled to oh x ow. */
export interface PoolGradProblem {
  planes: number;
  h: number;
  w: number;
  oh: number;
  ow: number;
}

/** dx from dy (input 0) and the forward input x (input 1). */
export function renderMaxPoolGrad(p: PoolGradProblem, a: PoolAttrs, limits: RenderLimits): KernelSource {
  const [kh, kw] = a.kernel;
  const [sy, sx] = a.stride;
  const [dy0, dx0] = a.dilation;
  const [py, px] = [a.padding[0], a.padding[1]];
  const body = `  let i = i32(gid);
  let ix = i % ${I(p.w)};
  let iy = (i / ${I(p.w)}) % ${I(p.h)};
  let plane = i / ${I(p.w * p.h)};
  let xb = plane * ${I(p.h * p.w)};
  let me = iy * ${I(p.w)} + ix;
  var acc = 0.0;
  for (var ki = 0; ki < ${I(kh)}; ki++) {
    let ty = iy + ${I(py)} - ki * ${I(dy0)};
    if (ty < 0 || ty % ${I(sy)} != 0) { continue; }
    let oy = ty / ${I(sy)};
    if (oy >= ${I(p.oh)}) { continue; }
    for (var kj = 0; kj < ${I(kw)}; kj++) {
      let tx = ix + ${I(px)} - kj * ${I(dx0)};
      if (tx < 0 || tx % ${I(sx)} != 0) { continue; }
      let ox = tx / ${I(sx)};
      if (ox >= ${I(p.ow)}) { continue; }
      // The window (oy, ox)'s first largest element, scanned row by row.
      var best = -1;
      var v = 0.0;
      for (var wi = 0; wi < ${I(kh)}; wi++) {
        let yy = oy * ${I(sy)} - ${I(py)} + wi * ${I(dy0)};
        if (yy < 0 || yy >= ${I(p.h)}) { continue; }
        for (var wj = 0; wj < ${I(kw)}; wj++) {
          let xx = ox * ${I(sx)} - ${I(px)} + wj * ${I(dx0)};
          if (xx < 0 || xx >= ${I(p.w)}) { continue; }
          let e = x[xb + yy * ${I(p.w)} + xx];
          if (best < 0 || e > v) { v = e; best = yy * ${I(p.w)} + xx; }
        }
      }
      if (best == me) { acc += dy[(plane * ${I(p.oh)} + oy) * ${I(p.ow)} + ox]; }
    }
  }
  y[gid] = acc;`;
  return gatherKernel(
    'maxPoolGrad',
    [inputRead('dy', 0), inputRead('x', 1)],
    p.planes * p.h * p.w,
    body,
    limits,
  );
}

/** t[plane, oy, j] = sum_ox dy[plane, oy, ox] * cols[ox, j] (input dy; constant cols [ow, w]). */
export function renderSeparableCols(p: PoolGradProblem, kind: string, limits: RenderLimits): KernelSource {
  const body = `  let j = gid % ${U(p.w)};
  let row = gid / ${U(p.w)};
  var acc = 0.0;
  for (var ox = 0u; ox < ${U(p.ow)}; ox++) { acc += dy[row * ${U(p.ow)} + ox] * cols[ox * ${U(p.w)} + j]; }
  y[gid] = acc;`;
  return gatherKernel(
    `${kind}Cols`,
    [inputRead('dy', 0), constantRead('cols')],
    p.planes * p.oh * p.w,
    body,
    limits,
  );
}

/** dx[plane, i, j] = sum_oy rows[oy, i] * t[plane, oy, j] (input t; constant rows [oh, h]). */
export function renderSeparableRows(p: PoolGradProblem, kind: string, limits: RenderLimits): KernelSource {
  const body = `  let j = gid % ${U(p.w)};
  let i = (gid / ${U(p.w)}) % ${U(p.h)};
  let plane = gid / ${U(p.w * p.h)};
  var acc = 0.0;
  for (var oy = 0u; oy < ${U(p.oh)}; oy++) {
    acc += rows[oy * ${U(p.h)} + i] * t[(plane * ${U(p.oh)} + oy) * ${U(p.w)} + j];
  }
  y[gid] = acc;`;
  return gatherKernel(
    `${kind}Rows`,
    [inputRead('t', 0), constantRead('rows')],
    p.planes * p.h * p.w,
    body,
    limits,
  );
}
