import { formatShape, ShapeError } from '../errors.js';
import type { GradTensor } from '../grad/rule.js';
import type { Conv1dAttrs, Conv2dAttrs } from '../ir/attrs.js';
import type { AttrSchema } from './attrs.js';
import { convOutLength } from './conv2d.js';
import type { OpDef, ParamRequirement } from './op-def.js';

const conv1dAttrs: AttrSchema<Conv1dAttrs> = {
  outChannels: { kind: 'int' },
  kernel: { kind: 'int' },
  stride: { kind: 'int', default: 1 },
  padding: { kind: 'ints', length: 2, default: [0, 0] },
  dilation: { kind: 'int', default: 1 },
  groups: { kind: 'int', default: 1 },
  bias: { kind: 'bool', default: false },
};

/** Output length of a conv1d over L positions. */
export function conv1dOutLength(l: number, a: Conv1dAttrs): number {
  return convOutLength(l, a.kernel, a.stride, a.padding[0], a.padding[1], a.dilation);
}

/** PyTorch's Conv1d over [N, C, L], weight [out, C / groups, kernel] (ECA's conv over channels). */
export const conv1dOp: OpDef<'conv1d'> = {
  name: 'conv1d',
  arity: [1, 1],
  attrs: conv1dAttrs,
  inferShapes(shapes, a, ctx) {
    const x = shapes[0]!;
    if (x.length !== 3) throw new ShapeError(`${ctx.path}: conv1d expects [N, C, L], got ${formatShape(x)}`);
    const [n, c, l] = x as [number, number, number];
    if (a.groups < 1 || c % a.groups !== 0 || a.outChannels % a.groups !== 0)
      throw new ShapeError(
        `${ctx.path}: conv1d channels ${c} -> ${a.outChannels} are not divisible by groups ${a.groups}`,
      );
    if (a.kernel < 1 || a.stride < 1 || a.dilation < 1 || a.padding.some((p) => p < 0))
      throw new ShapeError(`${ctx.path}: conv1d kernel, stride and dilation must be >= 1 and padding >= 0`);
    const ol = conv1dOutLength(l, a);
    if (ol < 1)
      throw new ShapeError(`${ctx.path}: input ${formatShape(x)} is too small for kernel ${a.kernel}`);
    return [[n, a.outChannels, ol]];
  },
  params(shapes, a) {
    const cin = shapes[0]![1]!;
    const req: ParamRequirement[] = [
      {
        role: 'weight',
        shape: [a.outChannels, cin / a.groups, a.kernel],
        kind: 'parameter',
        dtype: 'float32',
        // PyTorch's Conv1d default (timm's ResNet init only touches Conv2d).
        init: { kind: 'uniformFanIn', fanIn: (cin / a.groups) * a.kernel },
      },
    ];
    if (a.bias)
      req.push({
        role: 'bias',
        shape: [a.outChannels],
        kind: 'parameter',
        dtype: 'float32',
        init: { kind: 'uniformFanIn', fanIn: (cin / a.groups) * a.kernel },
      });
    return req;
  },
  macs(shapes, outShapes, a) {
    const o = outShapes[0]!;
    return o[0]! * o[1]! * o[2]! * (shapes[0]![1]! / a.groups) * a.kernel;
  },
  reference({ inputs, params, attrs: a }) {
    const x = inputs[0]!;
    const [n, c, l] = x.shape as [number, number, number];
    const ol = conv1dOutLength(l, a);
    const oc = a.outChannels;
    const cinG = c / a.groups;
    const coutG = oc / a.groups;
    const w = params.weight!.data;
    const out = new Float32Array(n * oc * ol);
    for (let b = 0; b < n; b++)
      for (let o = 0; o < oc; o++) {
        const g = Math.floor(o / coutG);
        for (let p = 0; p < ol; p++) {
          let acc = params.bias ? params.bias.data[o]! : 0;
          for (let ci = 0; ci < cinG; ci++) {
            const xBase = (b * c + g * cinG + ci) * l;
            for (let k = 0; k < a.kernel; k++) {
              const i = p * a.stride + k * a.dilation - a.padding[0];
              if (i >= 0 && i < l) acc += w[(o * cinG + ci) * a.kernel + k]! * x.data[xBase + i]!;
            }
          }
          out[(b * oc + o) * ol + p] = acc;
        }
      }
    return [{ shape: [n, oc, ol], data: out }];
  },
  // As a conv2d over [N, C, 1, L] with a [O, I, 1, K] kernel: the same gradient ops.
  grad(node, [dy], g) {
    if (!dy) return { inputs: [undefined] };
    const a = node.attrs;
    const x = g.tensor(node.inputs[0]!);
    const w = g.param(node.params.weight!);
    const as4d = (t: GradTensor) =>
      g.op('reshape', [t], { shape: [t.shape[0]!, t.shape[1]!, 1, t.shape[2]!] })[0]!;
    const a2: Conv2dAttrs = {
      outChannels: a.outChannels,
      kernel: [1, a.kernel],
      stride: [1, a.stride],
      padding: [0, a.padding[0], 0, a.padding[1]],
      dilation: [1, a.dilation],
      groups: a.groups,
      bias: a.bias,
    };
    const dy4 = as4d(dy);
    const [dx4] = g.op('conv2dGradInput', [dy4, as4d(w)], { ...a2, inputSize: [1, x.shape[2]!] });
    const [dw4] = g.op('conv2dGradWeight', [as4d(x), dy4], a2);
    const dx = g.op('reshape', [dx4!], { shape: [...x.shape] })[0]!;
    const params: Record<string, GradTensor> = {
      weight: g.op('reshape', [dw4!], { shape: [...w.shape] })[0]!,
    };
    if (a.bias) params.bias = g.op('reduceSum', [dy], { axes: [0, 2], keepDims: false })[0]!;
    return { inputs: [dx], params };
  },
};
