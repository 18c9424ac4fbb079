import { formatShape, ShapeError } from '../errors.js';
import { shapeSize, shapesEqual, stridesOf, type Tensor } from '../tensor.js';
import { NO_ATTRS } from './attrs.js';
import type { OpDef } from './op-def.js';

function sameShapes(shapes: readonly (readonly number[])[], path: string, op: string): number[][] {
  const [a, b] = shapes as [number[], number[]];
  if (!shapesEqual(a, b))
    throw new ShapeError(
      `${path}: ${op} needs dy and its tensor of one shape, got ${formatShape(a)} and ${formatShape(b)}`,
    );
  return [[...a]];
}

function backward<O extends 'reluGrad' | 'sigmoidGrad'>(
  name: O,
  f: (dy: number, y: number) => number,
): OpDef<O> {
  return {
    name,
    arity: [2, 2],
    attrs: NO_ATTRS as OpDef<O>['attrs'],
    inferShapes: (shapes, _a, ctx) => sameShapes(shapes, ctx.path, name),
    params: () => [],
    macs: () => 0,
    reference({ inputs }) {
      const [dy, y] = inputs as [Tensor, Tensor];
      const out = new Float32Array(dy.data.length);
      for (let i = 0; i < out.length; i++) out[i] = f(dy.data[i]!, y.data[i]!);
      return [{ shape: [...dy.shape], data: out }];
    },
  };
}

/** From (dy, y): PyTorch's threshold_backward on the output. */
export const reluGradOp = backward('reluGrad', (d, y) => (y > 0 ? d : 0));
/** From (dy, y): dy * y * (1 - y). */
export const sigmoidGradOp = backward('sigmoidGrad', (d, y) => d * y * (1 - y));

/** Broadcasts x to `shape`: every axis equal, or 1 in x. */
export const expandOp: OpDef<'expand'> = {
  name: 'expand',
  arity: [1, 1],
  attrs: { shape: { kind: 'ints' } },
  inferShapes(shapes, a, ctx) {
    const x = shapes[0]!;
    if (x.length !== a.shape.length || x.some((d, i) => d !== 1 && d !== a.shape[i]))
      throw new ShapeError(
        `${ctx.path}: expand cannot broadcast ${formatShape(x)} to ${formatShape(a.shape)}`,
      );
    return [[...a.shape]];
  },
  params: () => [],
  macs: () => 0,
  reference({ inputs, attrs }) {
    const x = inputs[0]!;
    const shape = attrs.shape;
    const out = new Float32Array(shapeSize(shape));
    const outStrides = stridesOf(shape);
    const xStrides = stridesOf(x.shape).map((s, i) => (x.shape[i] === 1 ? 0 : s));
    for (let i = 0; i < out.length; i++) {
      let rem = i;
      let src = 0;
      for (let k = 0; k < shape.length; k++) {
        const q = Math.floor(rem / outStrides[k]!);
        rem -= q * outStrides[k]!;
        src += q * xStrides[k]!;
      }
      out[i] = x.data[src]!;
    }
    return [{ shape: [...shape], data: out }];
  },
};

/** alpha * x. */
export const scaleOp: OpDef<'scale'> = {
  name: 'scale',
  arity: [1, 1],
  attrs: { alpha: { kind: 'num' } },
  inferShapes: (shapes) => [[...shapes[0]!]],
  params: () => [],
  macs: () => 0,
  reference({ inputs, attrs }) {
    const x = inputs[0]!;
    const out = new Float32Array(x.data.length);
    for (let i = 0; i < out.length; i++) out[i] = attrs.alpha * x.data[i]!;
    return [{ shape: [...x.shape], data: out }];
  },
  grad: (node, [dy], g) => ({ inputs: [dy && g.op('scale', [dy], { alpha: node.attrs.alpha })[0]] }),
};
