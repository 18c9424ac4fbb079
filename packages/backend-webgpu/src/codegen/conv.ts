import type { Conv2dAttrs } from '@cardinal/core';
import { type EpilogueStep, epilogueHelpers, operandName, operandType, renderEpilogue } from './epilogue.js';
import type { BindingSlot, KernelSource, RenderLimits } from './kernel.js';
import { entryPoint, pickWorkgroupSize, storage, u32Literal } from './kernel.js';

/** A conv2d as the renderer sees it: NCHW shapes, attributes, and what is fused after it. */
export interface ConvProblem {
  n: number;
  cin: number;
  h: number;
  w: number;
  oh: number;
  ow: number;
  attrs: Conv2dAttrs;
  epilogue: readonly EpilogueStep[];
}

/**
 * How one invocation tiles the output: `tco` output channels (1, 4, 8 or 16, as vec4 lanes) by
 * `tp` output pixels, so each loaded input value feeds `tco` multiply-adds and each loaded
 * weight vector `tp`. `pointwise`: a 1x1 unpadded conv, run as a matrix multiply over
 * quads of pixels (the direct kernel ignores `tp` there: a quad is four pixels).
 */
export interface ConvTiling {
  tco: 1 | 4 | 8 | 16;
  tp: number;
  pointwise: boolean;
}

/**
 * Default tiling: 8 channels by 8 pixels for 1x1 convs, 8 by 4 for larger windows, the
 * pixels of one invocation a tile-count apart so that neighbouring invocations read
 * neighbouring pixels. Chosen by measurement on llvmpipe and SwiftShader (BENCHMARKS.md);
 * `override` lets a benchmark try others (a channel tile the group cannot hold is ignored).
 */
export function planConvTiling(p: ConvProblem, override: Partial<ConvTiling> = {}): ConvTiling {
  const a = p.attrs;
  const coutG = a.outChannels / a.groups;
  const ohw = p.oh * p.ow;
  const oneByOne = a.kernel[0] === 1 && a.kernel[1] === 1;
  const eligible = oneByOne && a.padding.every((v) => v === 0);
  const pointwise = eligible && (override.pointwise ?? true);
  // Wider channel tiles pay off in the GEMM form, where each loaded pixel row feeds them all.
  const widest = pointwise && coutG % 16 === 0 && coutG >= 32 ? 16 : 8;
  const defaultTco =
    coutG % widest === 0 && coutG >= 16
      ? widest
      : coutG % 8 === 0 && coutG >= 16
        ? 8
        : coutG % 4 === 0
          ? 4
          : 1;
  const tco = override.tco && coutG % override.tco === 0 ? override.tco : defaultTco;
  const tp = Math.max(1, Math.min(ohw, override.tp ?? 4));
  return { tco, tp, pointwise };
}

/**
 * Weights re-laid out for the tiling, once at compile time: with vec4 channel lanes,
 * [cout / 4][cin/g * kh * kw][4]; with one channel, PyTorch's own OIHW.
 */
export function packConvWeights(weight: Float32Array, attrs: Conv2dAttrs, tiling: ConvTiling): Float32Array {
  if (tiling.tco === 1) return weight;
  const k = weight.length / attrs.outChannels;
  const out = new Float32Array(weight.length);
  for (let co4 = 0; co4 < attrs.outChannels / 4; co4++)
    for (let i = 0; i < k; i++)
      for (let c = 0; c < 4; c++) out[(co4 * k + i) * 4 + c] = weight[(co4 * 4 + c) * k + i]!;
  return out;
}

/** Bindings: input, packed weights, bias, fused operands..., output. */
function bindingsFor(p: ConvProblem): BindingSlot[] {
  const operands = p.epilogue.filter((s) => 'operand' in s).length;
  return [
    { kind: 'tensor', role: 'input', index: 0 },
    { kind: 'constant', name: 'weight' },
    { kind: 'constant', name: 'bias' },
    ...Array.from(
      { length: operands },
      (_, i): BindingSlot => ({ kind: 'tensor', role: 'operand', index: i }),
    ),
    { kind: 'tensor', role: 'output', index: 0 },
  ];
}

function declarations(p: ConvProblem, tiling: ConvTiling, vec4Io: boolean): string {
  const operands = p.epilogue.filter((s): s is Extract<EpilogueStep, { operand: number }> => 'operand' in s);
  const lines = [
    storage(0, 'x', 'read', vec4Io ? 'vec4<f32>' : 'f32'),
    storage(1, 'wt', 'read', tiling.tco === 1 ? 'f32' : 'vec4<f32>'),
    storage(2, 'bias', 'read'),
    ...operands.map((s, i) => storage(3 + i, operandName(s.operand), 'read', operandType(s, vec4Io))),
    storage(3 + operands.length, 'y', 'read_write', vec4Io ? 'vec4<f32>' : 'f32'),
  ];
  return `${lines.join('\n')}\n${epilogueHelpers(p.epilogue, vec4Io)}`;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const lane = (c: number) => 'xyzw'[c]!;

/**
 * The 1x1 unpadded case as a matrix multiply: out[co, p..p+3] += w[co, ci] * x[ci, p..p+3].
 * Contiguous pixel quads (stride 1, pixel count a multiple of 4) load and store as vec4;
 * otherwise (strided, odd sizes) the four input pixels are gathered by precomputed offsets
 * and the outputs written lane by lane.
 */
function renderPointwise(p: ConvProblem, t: ConvTiling, limits: RenderLimits): KernelSource {
  const a = p.attrs;
  const ohw = p.oh * p.ow;
  const hw = p.h * p.w;
  const contiguous = a.stride[0] === 1 && a.stride[1] === 1 && ohw % 4 === 0;
  const quads = Math.ceil(ohw / 4);
  const ct = a.outChannels / t.tco;
  const coutG = a.outChannels / a.groups;
  const cinG = p.cin / a.groups;
  const invocations = p.n * ct * quads;
  const wg = pickWorkgroupSize(limits);
  const U = u32Literal;
  const accs = range(t.tco);
  const vecTiles = t.tco === 1 ? [] : range(t.tco / 4);
  const inner =
    t.tco === 1
      ? `    acc0 = fma(vec4<f32>(wt[wb + ci]), xv, acc0);`
      : vecTiles
          .map(
            (v) =>
              `    let w${v} = wt[wb + ${U(v * cinG)} + ci];\n` +
              range(4)
                .map((c) => `    acc${v * 4 + c} = fma(vec4<f32>(w${v}.${lane(c)}), xv, acc${v * 4 + c});`)
                .join('\n'),
          )
          .join('\n');
  const chan = (c: number) => `n * ${U(a.outChannels)} + co0 + ${U(c)}`;
  let writes: string;
  let setup: string;
  let load: string;
  if (contiguous) {
    setup = `  let xb = (n * ${U(p.cin)} + g * ${U(cinG)}) * ${U(quads)} + pt;`;
    load = `    let xv = x[xb + ci * ${U(quads)}];`;
    writes = accs
      .map((c) => {
        const idx = `(${chan(c)}) * ${U(quads)} + pt`;
        const value = renderEpilogue(`(acc${c} + vec4<f32>(bias[co0 + ${U(c)}]))`, p.epilogue, {
          full: idx,
          channel: chan(c),
          vec4: true,
        });
        return `  y[${idx}] = ${value};`;
      })
      .join('\n');
  } else {
    // Input offset of output pixel p0 + j, clamped to the last pixel for the ragged tail.
    const offsets = range(4)
      .map(
        (j) => `  let q${j} = min(pt * 4u + ${U(j)}, ${U(ohw - 1)});
  let o${j} = (q${j} / ${U(p.ow)}) * ${U(a.stride[0] * p.w)} + (q${j} % ${U(p.ow)}) * ${U(a.stride[1])};`,
      )
      .join('\n');
    setup = `  let xb = (n * ${U(p.cin)} + g * ${U(cinG)}) * ${U(hw)};\n${offsets}`;
    load = `    let xc = xb + ci * ${U(hw)};
    let xv = vec4<f32>(x[xc + o0], x[xc + o1], x[xc + o2], x[xc + o3]);`;
    writes = range(4)
      .map((j) => {
        const lines = accs.map((c) => {
          const idx = `(${chan(c)}) * ${U(ohw)} + pt * 4u + ${U(j)}`;
          const value = renderEpilogue(`(acc${c}.${lane(j)} + bias[co0 + ${U(c)}])`, p.epilogue, {
            full: idx,
            channel: chan(c),
            vec4: false,
          });
          return `    y[${idx}] = ${value};`;
        });
        return `  if (pt * 4u + ${U(j)} < ${U(ohw)}) {\n${lines.join('\n')}\n  }`;
      })
      .join('\n');
  }
  const body = `  let pt = gid % ${U(quads)};
  let rest = gid / ${U(quads)};
  let co0 = (rest % ${U(ct)}) * ${U(t.tco)};
  let n = rest / ${U(ct)};
  let g = co0 / ${U(coutG)};
${setup}
  let wb = ${t.tco === 1 ? `co0 * ${U(cinG)}` : `(co0 / 4u) * ${U(cinG)}`};
${accs.map((c) => `  var acc${c} = vec4<f32>(0.0);`).join('\n')}
  for (var ci = 0u; ci < ${U(cinG)}; ci++) {
${load}
${inner}
  }
${writes}`;
  return {
    kind: a.stride[0] === 1 && a.stride[1] === 1 ? 'conv1x1' : 'conv1x1-s',
    wgsl: `${declarations(p, t, contiguous)}\n${entryPoint(wg, invocations, limits, body)}`,
    bindings: bindingsFor(p),
    invocations,
    workgroupSize: wg,
  };
}

/** Any other conv: direct, `tco` channels by `tp` pixels per invocation, zero padding by bounds checks. */
function renderDirect(p: ConvProblem, t: ConvTiling, limits: RenderLimits): KernelSource {
  const a = p.attrs;
  const ohw = p.oh * p.ow;
  const pt = Math.ceil(ohw / t.tp);
  const ct = a.outChannels / t.tco;
  const coutG = a.outChannels / a.groups;
  const cinG = p.cin / a.groups;
  const [kh, kw] = a.kernel;
  const khw = kh * kw;
  const invocations = p.n * ct * pt;
  const wg = pickWorkgroupSize(limits);
  const U = u32Literal;
  const px = range(t.tp);
  const vt = t.tco === 1 ? 1 : t.tco / 4;
  const tiles = range(vt);
  const accType = t.tco === 1 ? 'f32' : 'vec4<f32>';
  // Weight index of (ci, ky, kx) for vec4 tile v: tiles of one conv sit K = cinG*kh*kw apart.
  const k = cinG * khw;
  const wIndex = (v: number, off: string) => (v === 0 ? `wc + ${off}` : `wc + ${U(v * k)} + ${off}`);
  const tap = (kx: string, off: string) => {
    const loads = px
      .map(
        (j) =>
          `        let ix${j} = ix0_${j} + ${kx};\n` +
          `        let v${j} = select(0.0, x[row${j} + u32(max(ix${j}, 0))], ok${j} && ix${j} >= 0 && ix${j} < ${p.w});`,
      )
      .join('\n');
    const weights = tiles.map((v) => `        let w${v} = wt[${wIndex(v, off)}];`).join('\n');
    const fmas = tiles
      .flatMap((v) =>
        px.map((j) =>
          t.tco === 1
            ? `        acc${v}_${j} = fma(w${v}, v${j}, acc${v}_${j});`
            : `        acc${v}_${j} = fma(w${v}, vec4<f32>(v${j}), acc${v}_${j});`,
        ),
      )
      .join('\n');
    return `      {\n${loads}\n${weights}\n${fmas}\n      }`;
  };
  // The rows of the window one tap row reads, per output pixel.
  const rows = (ky: string) =>
    px
      .map(
        (j) =>
          `      let iy${j} = iy0_${j} + ${ky};\n      let ok${j} = iy${j} >= 0 && iy${j} < ${p.h};\n      let row${j} = xc + u32(max(iy${j}, 0)) * ${U(p.w)};`,
      )
      .join('\n');
  // Loops, not unrolled taps: SwiftShader's compile time grows steeply with code size.
  const window = `      for (var ky = 0; ky < ${kh}; ky++) {
${rows(`ky * ${a.dilation[0]}`)}
      for (var kx = 0; kx < ${kw}; kx++) {
${tap(`kx * ${a.dilation[1]}`, `u32(ky * ${kw} + kx)`)}
      }
      }`;
  const writes: string[] = [];
  for (const v of tiles)
    for (const j of px) {
      const lanes = t.tco === 1 ? [0] : range(4);
      const inner = lanes.map((c) => {
        const co = `co0 + ${U(v * 4 + c)}`;
        const idx = `(n * ${U(a.outChannels)} + ${co}) * ${U(ohw)} + p${j}`;
        const accEl = t.tco === 1 ? `acc${v}_${j}` : `acc${v}_${j}.${lane(c)}`;
        const value = renderEpilogue(`(${accEl} + bias[${co}])`, p.epilogue, {
          full: idx,
          channel: `n * ${U(a.outChannels)} + ${co}`,
          vec4: false,
        });
        return `    y[${idx}] = ${value};`;
      });
      writes.push(`  if (p${j} < ${U(ohw)}) {\n${inner.join('\n')}\n  }`);
    }
  const body = `  let ptile = gid % ${U(pt)};
  let rest = gid / ${U(pt)};
  let co0 = (rest % ${U(ct)}) * ${U(t.tco)};
  let n = rest / ${U(ct)};
  let g = co0 / ${U(coutG)};
  let xb = (n * ${U(p.cin)} + g * ${U(cinG)}) * ${U(p.h * p.w)};
  let wb = ${t.tco === 1 ? `co0 * ${U(k)}` : `(co0 / 4u) * ${U(k)}`};
${px
  .map(
    (j) => `  let p${j} = ptile + ${U(j * pt)};
  let iy0_${j} = i32(p${j} / ${U(p.ow)}) * ${a.stride[0]} - ${a.padding[0]};
  let ix0_${j} = i32(p${j} % ${U(p.ow)}) * ${a.stride[1]} - ${a.padding[1]};`,
  )
  .join('\n')}
${tiles.flatMap((v) => px.map((j) => `  var acc${v}_${j} = ${accType}(0.0);`)).join('\n')}
  for (var ci = 0u; ci < ${U(cinG)}; ci++) {
    let xc = xb + ci * ${U(p.h * p.w)};
    let wc = wb + ci * ${U(khw)};
${window}
  }
${writes.join('\n')}`;
  return {
    kind: `conv${kh}x${kw}${a.groups > 1 ? (a.groups === p.cin && coutG === 1 ? '-dw' : '-g') : ''}`,
    wgsl: `${declarations(p, t, false)}\n${entryPoint(wg, invocations, limits, body)}`,
    bindings: bindingsFor(p),
    invocations,
    workgroupSize: wg,
  };
}

export function renderConv(p: ConvProblem, tiling: ConvTiling, limits: RenderLimits): KernelSource {
  return tiling.pointwise ? renderPointwise(p, tiling, limits) : renderDirect(p, tiling, limits);
}
