import { formatShape, ShapeError } from '../errors.js';
import type { AttrsOf, PoolAttrs } from '../ir/attrs.js';
import type { AttrSchema } from './attrs.js';
import type { OpDef, ShapeContext } from './op-def.js';

export type { PoolAttrs };

/** Pooling's attributes, declared once: the stride defaults to the kernel, as in PyTorch. */
const poolAttrs: AttrSchema<PoolAttrs> = {
  kernel: { kind: 'ints', length: 2 },
  stride: { kind: 'ints', length: 2, default: (a) => a.kernel as [number, number] },
  padding: { kind: 'ints', length: 4, default: [0, 0, 0, 0] },
  dilation: { kind: 'ints', length: 2, default: [1, 1] },
  ceilMode: { kind: 'bool', default: false },
  countIncludePad: { kind: 'bool', default: true },
};

/**
 * PyTorch's pooling output length: in ceil mode a last window that would start inside the
 * end padding is dropped.
 */
export function poolOutLength(
  size: number,
  k: number,
  s: number,
  padBegin: number,
  padEnd: number,
  d: number,
  ceil: boolean,
): number {
  const span = size + padBegin + padEnd - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= size + padBegin) out -= 1;
  return out;
}

/** Output [height, width] of a pooling window over an H x W input. */
export function poolOutSize(h: number, w: number, a: PoolAttrs): [number, number] {
  return [
    poolOutLength(h, a.kernel[0], a.stride[0], a.padding[0], a.padding[2], a.dilation[0], a.ceilMode),
    poolOutLength(w, a.kernel[1], a.stride[1], a.padding[1], a.padding[3], a.dilation[1], a.ceilMode),
  ];
}

function inferPool(shapes: readonly (readonly number[])[], a: PoolAttrs, ctx: ShapeContext): number[][] {
  const x = shapes[0]!;
  if (x.length !== 4)
    throw new ShapeError(`${ctx.path}: pooling expects a 4-D NCHW input, got ${formatShape(x)}`);
  const [oh, ow] = poolOutSize(x[2]!, x[3]!, a);
  if (oh < 1 || ow < 1) {
    throw new ShapeError(
      `${ctx.path}: input ${formatShape(x)} is too small for pooling window ${formatShape(a.kernel)}`,
    );
  }
  return [[x[0]!, x[1]!, oh, ow]];
}

function poolReference(
  x: { shape: readonly number[]; data: Float32Array },
  a: PoolAttrs,
  mode: 'max' | 'avg',
) {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [oh, ow] = poolOutSize(h, w, a);
  const out = new Float32Array(n * c * oh * ow);
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.stride;
  const [dh, dw] = a.dilation;
  const [pt, pl, pb, pr] = a.padding;
  for (let p = 0; p < n * c; p++) {
    const base = p * h * w;
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        const y0 = y * sh - pt;
        const x0 = xo * sw - pl;
        let v: number;
        if (mode === 'max') {
          v = Number.NEGATIVE_INFINITY;
          for (let i = 0; i < kh; i++) {
            const iy = y0 + i * dh;
            if (iy < 0 || iy >= h) continue;
            for (let j = 0; j < kw; j++) {
              const ix = x0 + j * dw;
              if (ix < 0 || ix >= w) continue;
              const e = x.data[base + iy * w + ix]!;
              if (e > v || Number.isNaN(e)) v = e;
            }
          }
        } else {
          // PyTorch: the window is first clipped to the padded extent (its size is the
          // count_include_pad divisor), then to the input (the other divisor).
          const y1 = Math.min(y0 + kh, h + pb);
          const x1 = Math.min(x0 + kw, w + pr);
          const poolSize = (y1 - y0) * (x1 - x0);
          const ya = Math.max(y0, 0);
          const xa = Math.max(x0, 0);
          const yb = Math.min(y1, h);
          const xb = Math.min(x1, w);
          let sum = 0;
          for (let iy = ya; iy < yb; iy++)
            for (let ix = xa; ix < xb; ix++) sum += x.data[base + iy * w + ix]!;
          const count = a.countIncludePad ? poolSize : (yb - ya) * (xb - xa);
          v = count > 0 ? sum / count : 0;
        }
        out[(p * oh + y) * ow + xo] = v;
      }
    }
  }
  return { shape: [n, c, oh, ow], data: out };
}

/** maxPool and avgPool share attrs and shape rule; only the window reduction differs. */
function poolOp<O extends 'maxPool' | 'avgPool'>(name: O, mode: 'max' | 'avg'): OpDef<O> {
  return {
    name,
    arity: [1, 1],
    attrs: poolAttrs as AttrSchema<AttrsOf<O>>,
    inferShapes: inferPool,
    params: () => [],
    macs: () => 0,
    reference: ({ inputs, attrs }) => [poolReference(inputs[0]!, attrs, mode)],
  };
}

export const maxPoolOp: OpDef<'maxPool'> = {
  ...poolOp('maxPool', 'max'),
  grad: (node, [dy], g) => ({
    inputs: [dy && g.op('maxPoolGrad', [dy, g.tensor(node.inputs[0]!)], node.attrs)[0]],
  }),
};
export const avgPoolOp: OpDef<'avgPool'> = {
  ...poolOp('avgPool', 'avg'),
  grad(node, [dy], g) {
    if (!dy) return { inputs: [undefined] };
    const x = g.tensor(node.inputs[0]!);
    const inputSize: [number, number] = [x.shape[2]!, x.shape[3]!];
    return { inputs: [g.op('avgPoolGrad', [dy], { ...node.attrs, inputSize })[0]] };
  },
};

function inferGlobal(x: readonly number[], path: string, op: string): number[][] {
  if (x.length !== 4) throw new ShapeError(`${path}: ${op} expects a 4-D NCHW input, got ${formatShape(x)}`);
  return [[x[0]!, x[1]!, 1, 1]];
}

/** A reduction over H and W per (n, c), keeping them as 1: [N, C, H, W] -> [N, C, 1, 1]. */
function globalPoolOp<O extends 'globalAvgPool' | 'globalMaxPool'>(
  name: O,
  start: number,
  step: (acc: number, v: number) => number,
  finish: (acc: number, count: number) => number,
): OpDef<O> {
  return {
    name,
    arity: [1, 1],
    attrs: {} as OpDef<O>['attrs'],
    inferShapes: (shapes, _attrs, ctx) => inferGlobal(shapes[0]!, ctx.path, name),
    params: () => [],
    macs: () => 0,
    reference({ inputs }) {
      const x = inputs[0]!;
      const [n, c, h, w] = x.shape as [number, number, number, number];
      const hw = h * w;
      const out = new Float32Array(n * c);
      for (let p = 0; p < n * c; p++) {
        let acc = start;
        for (let i = 0; i < hw; i++) acc = step(acc, x.data[p * hw + i]!);
        out[p] = finish(acc, hw);
      }
      return [{ shape: [n, c, 1, 1], data: out }];
    },
  };
}

export const globalAvgPoolOp: OpDef<'globalAvgPool'> = {
  ...globalPoolOp(
    'globalAvgPool',
    0,
    (s, v) => s + v,
    (s, hw) => s / hw,
  ),
  // dy / (H W) broadcast over every position.
  grad(node, [dy], g) {
    if (!dy) return { inputs: [undefined] };
    const x = g.tensor(node.inputs[0]!);
    const spread = g.op('expand', [dy], { shape: [...x.shape] })[0]!;
    return { inputs: [g.op('scale', [spread], { alpha: 1 / (x.shape[2]! * x.shape[3]!) })[0]] };
  },
};
export const globalMaxPoolOp: OpDef<'globalMaxPool'> = {
  ...globalPoolOp('globalMaxPool', Number.NEGATIVE_INFINITY, Math.max, (m) => m),
  // A max pool whose one window is the whole map.
  grad(node, [dy], g) {
    if (!dy) return { inputs: [undefined] };
    const x = g.tensor(node.inputs[0]!);
    const hw: [number, number] = [x.shape[2]!, x.shape[3]!];
    const attrs = { kernel: hw, stride: hw, padding: [0, 0, 0, 0] as [number, number, number, number] };
    return { inputs: [g.op('maxPoolGrad', [dy, x], attrs)[0]] };
  },
};
