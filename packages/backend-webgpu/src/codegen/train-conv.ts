/**
 * A convolution's two gradients, one invocation per element of the gradient: dx gathers every
 * (output channel, tap) that read its input position, dW sums x * dy over the batch and the
 * output positions. Indices are i32: a tap's position may fall in the padding.
 */
import type { Conv2dAttrs } from '@cardinal/core';
import { gatherKernel, inputRead, type KernelSource, type RenderLimits } from './kernel.js';
import { REDUCE_CHUNK } from './partials.js';

/** A convolution's sizes: input [n, c, h, w], output [n, attrs.outChannels, oh, ow]. */
export interface ConvGradProblem {
  n: number;
  c: number;
  h: number;
  w: number;
  oh: number;
  ow: number;
  attrs: Conv2dAttrs;
}

const I = (v: number) => `${v}`;

/** dx [n, c, h, w] from dy (input 0) and the weight (input 1). */
export function renderConvGradInput(p: ConvGradProblem, limits: RenderLimits): KernelSource {
  const a = p.attrs;
  const [kh, kw] = a.kernel;
  const cinG = p.c / a.groups;
  const coutG = a.outChannels / a.groups;
  const body = `  let i = i32(gid);
  let ix = i % ${I(p.w)};
  let iy = (i / ${I(p.w)}) % ${I(p.h)};
  let ci = (i / ${I(p.w * p.h)}) % ${I(p.c)};
  let b = i / ${I(p.w * p.h * p.c)};
  let grp = ci / ${I(cinG)};
  let cl = ci % ${I(cinG)};
  var acc = 0.0;
  for (var o = grp * ${I(coutG)}; o < (grp + 1) * ${I(coutG)}; o++) {
    for (var ki = 0; ki < ${I(kh)}; ki++) {
      let ty = iy + ${I(a.padding[0])} - ki * ${I(a.dilation[0])};
      if (ty < 0 || ty % ${I(a.stride[0])} != 0) { continue; }
      let oy = ty / ${I(a.stride[0])};
      if (oy >= ${I(p.oh)}) { continue; }
      for (var kj = 0; kj < ${I(kw)}; kj++) {
        let tx = ix + ${I(a.padding[1])} - kj * ${I(a.dilation[1])};
        if (tx < 0 || tx % ${I(a.stride[1])} != 0) { continue; }
        let ox = tx / ${I(a.stride[1])};
        if (ox >= ${I(p.ow)}) { continue; }
        acc += wt[((o * ${I(cinG)} + cl) * ${I(kh)} + ki) * ${I(kw)} + kj] *
          dy[((b * ${I(a.outChannels)} + o) * ${I(p.oh)} + oy) * ${I(p.ow)} + ox];
      }
    }
  }
  y[gid] = acc;`;
  return gatherKernel(
    'convGradInput',
    [inputRead('dy', 0), inputRead('wt', 1)],
    p.n * p.c * p.h * p.w,
    body,
    limits,
  );
}

/**
 * Rows (sample, output row) one dW partial sums: at most REDUCE_CHUNK products per invocation
 * (llvmpipe's loop budget), the rest in further partials a second kernel adds.
 */
export function weightGradParts(p: ConvGradProblem): { rowsPer: number; parts: number } {
  const rowsPer = Math.max(1, Math.floor(REDUCE_CHUNK / p.ow));
  return { rowsPer, parts: Math.ceil((p.n * p.oh) / rowsPer) };
}

/**
 * dW partials [outChannels * c / groups * kh * kw, parts] from x (input 0) and dy (input 1):
 * invocation (weight element, part) sums x * dy over its rows of (sample, output row).
 */
export function renderConvGradWeight(p: ConvGradProblem, limits: RenderLimits): KernelSource {
  const a = p.attrs;
  const [kh, kw] = a.kernel;
  const cinG = p.c / a.groups;
  const coutG = a.outChannels / a.groups;
  const { rowsPer, parts } = weightGradParts(p);
  const body = `  let i = i32(gid) / ${I(parts)};
  let row0 = (i32(gid) % ${I(parts)}) * ${I(rowsPer)};
  let row1 = min(row0 + ${I(rowsPer)}, ${I(p.n * p.oh)});
  let kj = i % ${I(kw)};
  let ki = (i / ${I(kw)}) % ${I(kh)};
  let cl = (i / ${I(kw * kh)}) % ${I(cinG)};
  let o = i / ${I(kw * kh * cinG)};
  let ci = (o / ${I(coutG)}) * ${I(cinG)} + cl;
  var acc = 0.0;
  for (var row = row0; row < row1; row++) {
    let b = row / ${I(p.oh)};
    let oy = row % ${I(p.oh)};
    let iy = oy * ${I(a.stride[0])} + ki * ${I(a.dilation[0])} - ${I(a.padding[0])};
    if (iy < 0 || iy >= ${I(p.h)}) { continue; }
    let xrow = ((b * ${I(p.c)} + ci) * ${I(p.h)} + iy) * ${I(p.w)};
    let drow = ((b * ${I(a.outChannels)} + o) * ${I(p.oh)} + oy) * ${I(p.ow)};
    for (var ox = 0; ox < ${I(p.ow)}; ox++) {
      let ix = ox * ${I(a.stride[1])} + kj * ${I(a.dilation[1])} - ${I(a.padding[1])};
      if (ix < 0 || ix >= ${I(p.w)}) { continue; }
      acc += x[xrow + ix] * dy[drow + ox];
    }
  }
  y[gid] = acc;`;
  return gatherKernel(
    'convGradWeight',
    [inputRead('x', 0), inputRead('dy', 1)],
    a.outChannels * cinG * kh * kw * parts,
    body,
    limits,
  );
}
