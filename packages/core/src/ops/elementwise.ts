import { formatShape, ShapeError } from '../errors.js';
import type { GradEmitter, GradRule, GradTensor } from '../grad/rule.js';
import type { AttrsOf } from '../ir/attrs.js';
import { shapeSize, stridesOf, type Tensor } from '../tensor.js';
import { type AttrSchema, NO_ATTRS } from './attrs.js';
import type { OpDef } from './op-def.js';

/**
 * Broadcast of two same-rank shapes: each axis equal, or 1 on one side. This covers the
 * IR's cases (residual add, and mul of an N,C,1,1 attention map onto N,C,H,W).
 */
export function broadcastShape(
  a: readonly number[],
  b: readonly number[],
  path: string,
  op: string,
): number[] {
  if (a.length !== b.length) {
    throw new ShapeError(
      `${path}: ${op} needs inputs of the same rank, got ${formatShape(a)} and ${formatShape(b)}`,
    );
  }
  return a.map((d, i) => {
    const e = b[i]!;
    if (d === e || e === 1) return d;
    if (d === 1) return e;
    throw new ShapeError(
      `${path}: ${op} cannot broadcast ${formatShape(a)} with ${formatShape(b)} (axis ${i}: ${d} vs ${e})`,
    );
  });
}

function binaryReference(a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor {
  const shape = broadcastShape(a.shape, b.shape, 'reference', 'binary op');
  const size = shapeSize(shape);
  const out = new Float32Array(size);
  const same = a.data.length === size && b.data.length === size;
  if (same) {
    for (let i = 0; i < size; i++) out[i] = f(a.data[i]!, b.data[i]!);
    return { shape, data: out };
  }
  // General broadcast: walk the output index and map it into each input with zeroed strides.
  const outStrides = stridesOf(shape);
  const aStrides = stridesOf(a.shape).map((s, i) => (a.shape[i] === 1 ? 0 : s));
  const bStrides = stridesOf(b.shape).map((s, i) => (b.shape[i] === 1 ? 0 : s));
  // Collapse the innermost axis run where both operands are contiguous, the common case.
  const rank = shape.length;
  for (let i = 0; i < size; i++) {
    let rem = i;
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < rank; k++) {
      const q = Math.floor(rem / outStrides[k]!);
      rem -= q * outStrides[k]!;
      ia += q * aStrides[k]!;
      ib += q * bStrides[k]!;
    }
    out[i] = f(a.data[ia]!, b.data[ib]!);
  }
  return { shape, data: out };
}

/** Fast path for x[N,C,H,W] (op) s[N,C,1,1], the SE / attention scale. */
function channelBroadcast(a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor | undefined {
  if (a.shape.length !== 4 || b.shape.length !== 4) return undefined;
  const [n, c, h, w] = a.shape as [number, number, number, number];
  if (b.shape[0] !== n || b.shape[1] !== c || b.shape[2] !== 1 || b.shape[3] !== 1 || h * w === 1)
    return undefined;
  const out = new Float32Array(a.data.length);
  const hw = h * w;
  for (let p = 0; p < n * c; p++) {
    const s = b.data[p]!;
    const base = p * hw;
    for (let i = 0; i < hw; i++) out[base + i] = f(a.data[base + i]!, s);
  }
  return { shape: [...a.shape], data: out };
}

type BinaryOp = 'add' | 'mul' | 'sub' | 'div';

function binary<O extends BinaryOp>(
  name: O,
  f: (x: number, y: number) => number,
  grad: GradRule<O>,
): OpDef<O> {
  return {
    name,
    arity: [2, 2],
    attrs: NO_ATTRS as AttrSchema<AttrsOf<O>>,
    inferShapes: (shapes, _attrs, ctx) => [broadcastShape(shapes[0]!, shapes[1]!, ctx.path, name)],
    params: () => [],
    macs: () => 0,
    reference({ inputs }) {
      const [a, b] = [inputs[0]!, inputs[1]!];
      return [
        channelBroadcast(a, b, f) ?? channelBroadcast(b, a, (x, y) => f(y, x)) ?? binaryReference(a, b, f),
      ];
    },
    grad,
  };
}

/**
 * The rule of a binary op from the two partial derivatives as IR (each given dy and the
 * operands), each summed back over the axes its operand was broadcast along.
 */
function binaryGrad<O extends BinaryOp>(
  da: (dy: GradTensor, a: GradTensor, b: GradTensor, g: GradEmitter, y: GradTensor) => GradTensor,
  db: (dy: GradTensor, a: GradTensor, b: GradTensor, g: GradEmitter, y: GradTensor) => GradTensor,
): GradRule<O> {
  return (node, [dy], g) => {
    if (!dy) return { inputs: [undefined, undefined] };
    const a = g.tensor(node.inputs[0]!);
    const b = g.tensor(node.inputs[1]!);
    const y = g.tensor(node.outputs[0]!);
    return {
      inputs: [g.unbroadcast(da(dy, a, b, g, y), a.shape), g.unbroadcast(db(dy, a, b, g, y), b.shape)],
    };
  };
}

const one = (g: GradEmitter, op: BinaryOp, x: GradTensor, y: GradTensor) => g.op(op, [x, y], {})[0]!;
const neg = (g: GradEmitter, x: GradTensor) => g.op('scale', [x], { alpha: -1 })[0]!;
const dyItself = (dy: GradTensor) => dy;

export const addOp = binary('add', (x, y) => x + y, binaryGrad(dyItself, dyItself));
export const mulOp = binary(
  'mul',
  (x, y) => x * y,
  binaryGrad(
    (dy, _a, b, g) => one(g, 'mul', dy, b),
    (dy, a, _b, g) => one(g, 'mul', dy, a),
  ),
);
export const subOp = binary(
  'sub',
  (x, y) => x - y,
  binaryGrad(dyItself, (dy, _a, _b, g) => neg(g, dy)),
);
// d(a/b)/db = -y / b, with y = a / b the node's output.
export const divOp = binary(
  'div',
  (x, y) => x / y,
  binaryGrad(
    (dy, _a, b, g) => one(g, 'div', dy, b),
    (dy, _a, b, g, y) => neg(g, one(g, 'div', one(g, 'mul', dy, y), b)),
  ),
);
