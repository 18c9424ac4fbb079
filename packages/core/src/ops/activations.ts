import { formatShape, ShapeError } from '../errors.js';
import type { AttrsOf } from '../ir/attrs.js';
import { type AttrSchema, NO_ATTRS } from './attrs.js';
import type { OpDef } from './op-def.js';

type UnaryOp = 'relu' | 'sigmoid' | 'leakyRelu' | 'hardSigmoid' | 'hardSwish' | 'clip';

function unary<O extends UnaryOp>(
  name: O,
  attrs: AttrSchema<AttrsOf<O>>,
  f: (v: number, a: AttrsOf<O>) => number,
): OpDef<O> {
  return {
    name,
    arity: [1, 1],
    attrs,
    inferShapes: (shapes) => [[...shapes[0]!]],
    params: () => [],
    macs: () => 0,
    reference({ inputs, attrs: a }) {
      const x = inputs[0]!;
      const out = new Float32Array(x.data.length);
      for (let i = 0; i < out.length; i++) out[i] = f(x.data[i]!, a);
      return [{ shape: [...x.shape], data: out }];
    },
  };
}

const none = NO_ATTRS as AttrSchema<Record<never, never>>;
/** float32's largest value: the bound of a Clip that has none. */
export const FLOAT32_MAX = 3.4028234663852886e38;

export const reluOp = unary('relu', none, (v) => Math.max(v, 0));
export const sigmoidOp = unary('sigmoid', none, (v) => 1 / (1 + Math.exp(-v)));
export const leakyReluOp = unary('leakyRelu', { alpha: { kind: 'num', default: 0.01 } }, (v, a) =>
  v >= 0 ? v : v * a.alpha,
);
export const hardSigmoidOp = unary(
  'hardSigmoid',
  { alpha: { kind: 'num', default: 0.2 }, beta: { kind: 'num', default: 0.5 } },
  (v, a) => Math.max(0, Math.min(1, a.alpha * v + a.beta)),
);
/** x * relu6(x + 3) / 6, as PyTorch's Hardswish and ONNX's HardSwish. */
export const hardSwishOp = unary('hardSwish', none, (v) => (v * Math.max(0, Math.min(6, v + 3))) / 6);
export const clipOp = unary(
  'clip',
  { min: { kind: 'num', default: -FLOAT32_MAX }, max: { kind: 'num', default: FLOAT32_MAX } },
  (v, a) => Math.min(Math.max(v, a.min), a.max),
);

/** Normalises an axis attribute (negative counts from the end) for a given rank. */
export function normaliseAxis(axis: number, rank: number, path: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeError(`${path}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Softmax along one axis, computed stably (max subtracted) in float64. */
export const softmaxOp: OpDef<'softmax'> = {
  name: 'softmax',
  arity: [1, 1],
  attrs: { axis: { kind: 'int' } },
  inferShapes(shapes, attrs, ctx) {
    const x = shapes[0]!;
    normaliseAxis(attrs.axis, x.length, ctx.path);
    if (x.length === 0)
      throw new ShapeError(`${ctx.path}: softmax needs a tensor of rank >= 1, got ${formatShape(x)}`);
    return [[...x]];
  },
  params: () => [],
  macs: () => 0,
  reference({ inputs, attrs }) {
    const x = inputs[0]!;
    const axis = normaliseAxis(attrs.axis, x.shape.length, 'softmax');
    const len = x.shape[axis]!;
    let inner = 1;
    for (let i = axis + 1; i < x.shape.length; i++) inner *= x.shape[i]!;
    const outer = x.data.length / (len * inner);
    const out = new Float32Array(x.data.length);
    const tmp = new Float64Array(len);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * len * inner + i;
        let max = Number.NEGATIVE_INFINITY;
        for (let k = 0; k < len; k++) max = Math.max(max, x.data[base + k * inner]!);
        let sum = 0;
        for (let k = 0; k < len; k++) {
          tmp[k] = Math.exp(x.data[base + k * inner]! - max);
          sum += tmp[k]!;
        }
        for (let k = 0; k < len; k++) out[base + k * inner] = tmp[k]! / sum;
      }
    }
    return [{ shape: [...x.shape], data: out }];
  },
};
