import { formatShape, ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { affineParams } from './norm-params.js';
import type { OpDef } from './op-def.js';

/**
 * torch.nn.GroupNorm over [N, C, ...]: each sample's channels in `groups` groups, normalised over
 * (C / groups, spatial) with the biased variance, then y * weight[c] + bias[c]. The same in
 * training and evaluation: no running statistics.
 */
export const groupNormOp: OpDef<'groupNorm'> = {
  name: 'groupNorm',
  arity: [1, 1],
  // timm's GroupNorm: 32 groups, eps 1e-5.
  attrs: { groups: { kind: 'int', default: 32 }, eps: { kind: 'num', default: 1e-5 } },
  inferShapes(shapes, a, ctx) {
    const x = shapes[0]!;
    if (x.length < 2)
      throw new ShapeError(`${ctx.path}: groupNorm expects [N, C, ...], got ${formatShape(x)}`);
    if (a.groups < 1 || x[1]! % a.groups !== 0)
      throw new ShapeError(
        `${ctx.path}: groupNorm: ${x[1]} channels are not divisible by ${a.groups} groups`,
      );
    return [[...x]];
  },
  params(shapes) {
    const c = shapes[0]![1]!;
    return affineParams(c);
  },
  macs: () => 0,
  reference({ inputs, params, attrs }) {
    const x = inputs[0]!;
    const [n, c] = [x.shape[0]!, x.shape[1]!];
    const inner = x.data.length / (n * c);
    const per = c / attrs.groups;
    const out = new Float32Array(x.data.length);
    for (let b = 0; b < n; b++)
      for (let g = 0; g < attrs.groups; g++) {
        const base = (b * c + g * per) * inner;
        const len = per * inner;
        let mean = 0;
        for (let i = 0; i < len; i++) mean += x.data[base + i]!;
        mean /= len;
        let v = 0;
        for (let i = 0; i < len; i++) v += (x.data[base + i]! - mean) ** 2;
        const inv = 1 / Math.sqrt(v / len + attrs.eps);
        for (let k = 0; k < per; k++) {
          const ch = g * per + k;
          const s = params.weight!.data[ch]! * inv;
          const t = params.bias!.data[ch]! - mean * s;
          const o = base + k * inner;
          for (let i = 0; i < inner; i++) out[o + i] = x.data[o + i]! * s + t;
        }
      }
    return [{ shape: [...x.shape], data: out }];
  },
  grad(node, [dy], g) {
    if (!dy) return { inputs: [undefined] };
    const x = g.tensor(node.inputs[0]!);
    const [dx, dw, db] = g.op('groupNormGrad', [dy, x], node.attrs, { weight: node.params.weight! });
    return { inputs: [dx], params: { weight: dw!, bias: db! } };
  },
};

/**
 * GroupNorm's backward from (dy, x), the statistics recomputed: per sample and group, with
 * xhat the normalised input and d = dy * weight[c],
 * dx = invStd * (d - mean(d) - xhat * mean(d * xhat)); dweight = sum(dy * xhat), dbias = sum(dy).
 */
export const groupNormGradOp: OpDef<'groupNormGrad'> = {
  name: 'groupNormGrad',
  arity: [2, 2],
  attrs: groupNormOp.attrs,
  inferShapes(shapes, a, ctx) {
    const [dy, x] = shapes as [number[], number[]];
    groupNormOp.inferShapes([x], a, ctx);
    if (formatShape(dy) !== formatShape(x))
      throw new ShapeError(`${ctx.path}: groupNormGrad got dy ${formatShape(dy)} for x ${formatShape(x)}`);
    return [[...x], [x[1]!], [x[1]!]];
  },
  params: (shapes) => affineParams(shapes[1]![1]!).slice(0, 1),
  macs: () => 0,
  reference({ inputs, params, attrs }) {
    const [dy, x] = inputs as [Tensor, Tensor];
    const [n, c] = [x.shape[0]!, x.shape[1]!];
    const inner = x.data.length / (n * c);
    const per = c / attrs.groups;
    const len = per * inner;
    const dx = new Float32Array(x.data.length);
    const dw = new Float64Array(c);
    const db = new Float64Array(c);
    const xhat = new Float64Array(len);
    const d = new Float64Array(len);
    for (let b = 0; b < n; b++)
      for (let grp = 0; grp < attrs.groups; grp++) {
        const base = (b * c + grp * per) * inner;
        let mean = 0;
        for (let i = 0; i < len; i++) mean += x.data[base + i]!;
        mean /= len;
        let v = 0;
        for (let i = 0; i < len; i++) v += (x.data[base + i]! - mean) ** 2;
        const inv = 1 / Math.sqrt(v / len + attrs.eps);
        let meanD = 0;
        let meanDX = 0;
        for (let i = 0; i < len; i++) {
          const ch = grp * per + Math.floor(i / inner);
          const g = dy.data[base + i]!;
          xhat[i] = (x.data[base + i]! - mean) * inv;
          d[i] = g * params.weight!.data[ch]!;
          dw[ch]! += g * xhat[i]!;
          db[ch]! += g;
          meanD += d[i]!;
          meanDX += d[i]! * xhat[i]!;
        }
        meanD /= len;
        meanDX /= len;
        for (let i = 0; i < len; i++) dx[base + i] = inv * (d[i]! - meanD - xhat[i]! * meanDX);
      }
    return [
      { shape: [...x.shape], data: dx },
      { shape: [c], data: Float32Array.from(dw) },
      { shape: [c], data: Float32Array.from(db) },
    ];
  },
};
