import { formatShape, ShapeError } from '../errors.js';
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
};
