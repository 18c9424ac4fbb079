import { formatShape, ShapeError } from '../errors.js';
import { affineParams, channelVector } from './norm-params.js';
import type { OpDef } from './op-def.js';

/** Eval-mode BatchNorm2d: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias. */
export const batchNormOp: OpDef<'batchNorm'> = {
  name: 'batchNorm',
  arity: [1, 1],
  // PyTorch's BatchNorm2d defaults; the one place they are written.
  attrs: { eps: { kind: 'num', default: 1e-5 }, momentum: { kind: 'num', default: 0.1 } },
  inferShapes(shapes, _attrs, ctx) {
    const x = shapes[0]!;
    if (x.length < 2)
      throw new ShapeError(`${ctx.path}: batchNorm expects at least [N, C], got ${formatShape(x)}`);
    return [[...x]];
  },
  params(shapes) {
    const c = shapes[0]![1]!;
    return [
      ...affineParams(c),
      channelVector('running_mean', c, 'buffer', 0),
      channelVector('running_var', c, 'buffer', 1),
      {
        role: 'num_batches_tracked',
        shape: [],
        kind: 'buffer',
        dtype: 'int64',
        optional: true,
        init: { kind: 'constant', value: 0 },
      },
    ];
  },
  macs: () => 0,
  reference({ inputs, params, attrs }) {
    const x = inputs[0]!;
    const eps = attrs.eps;
    const [n, c] = [x.shape[0]!, x.shape[1]!];
    const inner = x.data.length / (n * c);
    const out = new Float32Array(x.data.length);
    for (let ch = 0; ch < c; ch++) {
      const scale = params.weight!.data[ch]! / Math.sqrt(params.running_var!.data[ch]! + eps);
      const shift = params.bias!.data[ch]! - params.running_mean!.data[ch]! * scale;
      for (let b = 0; b < n; b++) {
        const base = (b * c + ch) * inner;
        for (let i = 0; i < inner; i++) out[base + i] = x.data[base + i]! * scale + shift;
      }
    }
    return [{ shape: [...x.shape], data: out }];
  },
};
