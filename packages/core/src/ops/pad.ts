import { formatShape, ShapeError } from '../errors.js';
import { shapeSize, stridesOf } from '../tensor.js';
import type { OpDef } from './op-def.js';

function padShape(x: readonly number[], pads: readonly number[], path: string): number[] {
  const r = x.length;
  if (pads.length !== 2 * r || pads.some((p) => p < 0))
    throw new ShapeError(
      `${path}: pad needs ${2 * r} non-negative pads for ${formatShape(x)}, got ${formatShape(pads)}`,
    );
  return x.map((d, i) => d + pads[i]! + pads[i + r]!);
}

/** Constant padding of every axis: ONNX's Pad in 'constant' mode with non-negative pads. */
export const padOp: OpDef<'pad'> = {
  name: 'pad',
  arity: [1, 1],
  attrs: { pads: { kind: 'ints' }, value: { kind: 'num', default: 0 } },
  inferShapes: (shapes, attrs, ctx) => [padShape(shapes[0]!, attrs.pads, ctx.path)],
  params: () => [],
  macs: () => 0,
  reference({ inputs, attrs }) {
    const x = inputs[0]!;
    const shape = padShape(x.shape, attrs.pads, 'pad');
    const out = new Float32Array(shapeSize(shape)).fill(attrs.value);
    const inStrides = stridesOf(x.shape);
    const outStrides = stridesOf(shape);
    for (let i = 0; i < x.data.length; i++) {
      let [rem, o] = [i, 0];
      for (let k = 0; k < shape.length; k++) {
        const q = Math.floor(rem / inStrides[k]!);
        rem -= q * inStrides[k]!;
        o += (q + attrs.pads[k]!) * outStrides[k]!;
      }
      out[o] = x.data[i]!;
    }
    return [{ shape, data: out }];
  },
};

/** A constant tensor: its value is the node's `value` buffer. */
export const constantOp: OpDef<'constant'> = {
  name: 'constant',
  arity: [0, 0],
  attrs: { shape: { kind: 'ints' } },
  inferShapes(_shapes, attrs, ctx) {
    if (attrs.shape.some((d) => d < 1))
      throw new ShapeError(`${ctx.path}: constant shape ${formatShape(attrs.shape)} has an empty axis`);
    return [[...attrs.shape]];
  },
  params: (_shapes, attrs) => [
    {
      role: 'value',
      shape: [...attrs.shape],
      kind: 'buffer',
      dtype: 'float32',
      init: { kind: 'constant', value: 0 },
    },
  ],
  macs: () => 0,
  reference: ({ params, attrs }) => [{ shape: [...attrs.shape], data: params.value!.data.slice() }],
  // A constant has no inputs, and its value is a buffer: nothing flows back.
  grad: () => ({ inputs: [] }),
};
