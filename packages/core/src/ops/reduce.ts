import { formatShape, ShapeError } from '../errors.js';
import type { GradRule } from '../grad/rule.js';
import type { AttrsOf, ReduceAttrs } from '../ir/attrs.js';
import { shapeSize, stridesOf, type Tensor } from '../tensor.js';
import type { AttrSchema } from './attrs.js';
import type { OpDef } from './op-def.js';

const reduceAttrs: AttrSchema<ReduceAttrs> = {
  axes: { kind: 'ints' },
  keepDims: { kind: 'bool', default: true },
};

/** The output shape of a reduction; axes must be sorted, distinct and inside the rank. */
export function reduceShape(x: readonly number[], a: ReduceAttrs, path: string): number[] {
  const ok = a.axes.every((ax, i) => ax >= 0 && ax < x.length && (i === 0 || ax > a.axes[i - 1]!));
  if (!ok || a.axes.length === 0)
    throw new ShapeError(
      `${path}: reduce axes ${formatShape(a.axes)} must be sorted, distinct axes of ${formatShape(x)}`,
    );
  const kept = x.map((d, i) => (a.axes.includes(i) ? 1 : d));
  return a.keepDims ? kept : x.filter((_, i) => !a.axes.includes(i));
}

/** Sums (float64) over the reduced axes: each output element walks its reduced sub-block. */
function reduceReference(x: Tensor, a: ReduceAttrs, mean: boolean): Tensor {
  const kept = x.shape.map((d, i) => (a.axes.includes(i) ? 1 : d));
  const strides = stridesOf(x.shape);
  const keptStrides = stridesOf(kept);
  const reduced = a.axes.map((ax) => ({ len: x.shape[ax]!, stride: strides[ax]! }));
  const count = shapeSize(reduced.map((r) => r.len));
  const out = new Float32Array(shapeSize(kept));
  for (let o = 0; o < out.length; o++) {
    let base = 0;
    let rem = o;
    for (let k = 0; k < kept.length; k++) {
      const q = Math.floor(rem / keptStrides[k]!);
      rem -= q * keptStrides[k]!;
      base += q * strides[k]!;
    }
    let sum = 0;
    for (let r = 0; r < count; r++) {
      let off = base;
      let rr = r;
      for (let k = reduced.length - 1; k >= 0; k--) {
        const { len, stride } = reduced[k]!;
        off += (rr % len) * stride;
        rr = Math.floor(rr / len);
      }
      sum += x.data[off]!;
    }
    out[o] = mean ? sum / count : sum;
  }
  return { shape: reduceShape(x.shape, a, 'reduce'), data: out };
}

function reduceOp<O extends 'reduceMean' | 'reduceSum'>(name: O): OpDef<O> {
  return {
    name,
    arity: [1, 1],
    attrs: reduceAttrs as AttrSchema<AttrsOf<O>>,
    inferShapes: (shapes, attrs, ctx) => [reduceShape(shapes[0]!, attrs, ctx.path)],
    params: () => [],
    macs: () => 0,
    reference: ({ inputs, attrs }) => [reduceReference(inputs[0]!, attrs, name === 'reduceMean')],
  };
}

/** dy restored to the input's rank (keepDims), broadcast back, divided by the count for a mean. */
function reduceGrad<O extends 'reduceMean' | 'reduceSum'>(mean: boolean): GradRule<O> {
  return (node, [dy], g) => {
    if (!dy) return { inputs: [undefined] };
    const x = g.tensor(node.inputs[0]!);
    const kept = x.shape.map((d, i) => (node.attrs.axes.includes(i) ? 1 : d));
    const k = node.attrs.keepDims ? dy : g.op('reshape', [dy], { shape: kept })[0]!;
    let dx = g.op('expand', [k], { shape: [...x.shape] })[0]!;
    if (mean) {
      const count = node.attrs.axes.reduce((p, ax) => p * x.shape[ax]!, 1);
      dx = g.op('scale', [dx], { alpha: 1 / count })[0]!;
    }
    return { inputs: [dx] };
  };
}

export const reduceMeanOp: OpDef<'reduceMean'> = { ...reduceOp('reduceMean'), grad: reduceGrad(true) };
export const reduceSumOp: OpDef<'reduceSum'> = { ...reduceOp('reduceSum'), grad: reduceGrad(false) };
