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

export const reluOp: OpDef<'relu'> = {
  ...unary('relu', none, (v) => Math.max(v, 0)),
  grad: (node, [dy], g) => ({
    inputs: [dy && g.op('reluGrad', [dy, g.tensor(node.outputs[0]!)], {})[0]],
  }),
};
export const sigmoidOp: OpDef<'sigmoid'> = {
  ...unary('sigmoid', none, (v) => 1 / (1 + Math.exp(-v))),
  grad: (node, [dy], g) => ({
    inputs: [dy && g.op('sigmoidGrad', [dy, g.tensor(node.outputs[0]!)], {})[0]],
  }),
};
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

/** Softmax (or its log) along one axis, computed stably (max subtracted) in float64. */
function softmaxLike<O extends 'softmax' | 'logSoftmax'>(name: O, log: boolean): OpDef<O> {
  return {
    name,
    arity: [1, 1],
    attrs: { axis: { kind: 'int' } } as AttrSchema<AttrsOf<O>>,
    inferShapes(shapes, attrs, ctx) {
      const x = shapes[0]!;
      if (x.length === 0)
        throw new ShapeError(`${ctx.path}: ${name} needs a tensor of rank >= 1, got ${formatShape(x)}`);
      normaliseAxis(attrs.axis, x.length, ctx.path);
      return [[...x]];
    },
    params: () => [],
    macs: () => 0,
    reference({ inputs, attrs }) {
      const x = inputs[0]!;
      const axis = normaliseAxis(attrs.axis, x.shape.length, name);
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
          const logSum = Math.log(sum);
          for (let k = 0; k < len; k++)
            out[base + k * inner] = log ? x.data[base + k * inner]! - max - logSum : tmp[k]! / sum;
        }
      }
      return [{ shape: [...x.shape], data: out }];
    },
  };
}

/** Softmax along one axis. Backward: y * (dy - sum(dy * y)) along the axis. */
export const softmaxOp: OpDef<'softmax'> = {
  ...softmaxLike('softmax', false),
  grad(node, [dy], g) {
    if (!dy) return { inputs: [undefined] };
    const y = g.tensor(node.outputs[0]!);
    const axes = [normaliseAxis(node.attrs.axis, y.shape.length, node.path)];
    const dyY = g.op('mul', [dy, y], {})[0]!;
    const s = g.op('reduceSum', [dyY], { axes, keepDims: true })[0]!;
    const centred = g.op('sub', [dy, s], {})[0]!;
    return { inputs: [g.op('mul', [centred, y], {})[0]] };
  },
};

/** log(softmax(x)) along one axis. Backward: dy - softmax(x) * sum(dy) along the axis. */
export const logSoftmaxOp: OpDef<'logSoftmax'> = {
  ...softmaxLike('logSoftmax', true),
  grad(node, [dy], g) {
    if (!dy) return { inputs: [undefined] };
    const x = g.tensor(node.inputs[0]!);
    const axis = normaliseAxis(node.attrs.axis, x.shape.length, node.path);
    const p = g.op('softmax', [x], { axis })[0]!;
    const s = g.op('reduceSum', [dy], { axes: [axis], keepDims: true })[0]!;
    return { inputs: [g.op('sub', [dy, g.op('mul', [p, s], {})[0]!], {})[0]] };
  },
};
