// Shape arithmetic folded to constants. PyTorch's exporter computes reshape targets from the
// input's shape (Shape -> Gather -> Unsqueeze -> Concat -> Reshape); the IR's shapes are static,
// so every such chain is evaluated here, at import, from the shapes the graph infers.
import type { SymbolicTensor } from '@cardinal/core';
import type { DecodedNode as NodeProto } from '../proto.js';
import type { ConstValue } from './tensors.js';

/** What a folder sees: the node, its opset, and its inputs as constants (or a computed tensor's shape). */
export interface FoldInput {
  node: NodeProto;
  opset: number;
  /** Input i as a constant, or undefined when it is computed (or absent). */
  constant(i: number): ConstValue | undefined;
  /** Input i when it is a computed tensor (only Shape reads one). */
  computed(i: number): SymbolicTensor | undefined;
  int(name: string, fallback: number): number;
  ints(name: string, fallback: number[]): number[];
  refuse(what: string): never;
}

type Folder = (f: FoldInput) => ConstValue | undefined;

const strides = (shape: number[]) => {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
};
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const values = (c: ConstValue): number[] => Array.from(c.data);
const make = (kind: ConstValue['kind'], shape: number[], data: number[]): ConstValue =>
  kind === 'float' ? { kind, shape, data: Float32Array.from(data) } : { kind, shape, data };
const axis = (a: number, rank: number, f: FoldInput) => {
  const r = a < 0 ? a + rank : a;
  if (r < 0 || r >= rank) f.refuse(`axis ${a} is outside a rank-${rank} tensor`);
  return r;
};

/** Every input constant, or undefined (then the op is imported as an IR op, if it can be). */
function all(f: FoldInput, n: number): ConstValue[] | undefined {
  const out: ConstValue[] = [];
  for (let i = 0; i < n; i++) {
    const c = f.constant(i);
    if (!c) return undefined;
    out.push(c);
  }
  return out;
}

/** Gathers elements of `c` by index along `ax` into `outShape`. */
function take(c: ConstValue, ax: number, pick: (axisIndex: number) => number, axisLen: number): ConstValue {
  const shape = [...c.shape];
  shape[ax] = axisLen;
  const st = strides(c.shape);
  const ost = strides(shape);
  const src = values(c);
  const out = new Array<number>(size(shape));
  for (let o = 0; o < out.length; o++) {
    let [rem, at] = [o, 0];
    for (let k = 0; k < shape.length; k++) {
      const q = Math.floor(rem / ost[k]!);
      rem -= q * ost[k]!;
      at += (k === ax ? pick(q) : q) * st[k]!;
    }
    out[o] = src[at]!;
  }
  return make(c.kind, shape, out);
}

const binary =
  (op: (a: number, b: number, int: boolean) => number): Folder =>
  (f) => {
    const cs = all(f, 2);
    if (!cs) return undefined;
    const [a, b] = cs as [ConstValue, ConstValue];
    if (a.kind !== b.kind) f.refuse('inputs of different types');
    const rank = Math.max(a.shape.length, b.shape.length);
    const pad = (s: number[]) => [...Array(rank - s.length).fill(1), ...s];
    const [sa, sb] = [pad(a.shape), pad(b.shape)];
    const shape = sa.map((d, i) => {
      const e = sb[i]!;
      if (d !== e && d !== 1 && e !== 1) f.refuse(`cannot broadcast [${a.shape}] with [${b.shape}]`);
      return d === 1 ? e : d;
    });
    const [va, vb] = [values(a), values(b)];
    const [ta, tb] = [strides(sa), strides(sb)];
    const ost = strides(shape);
    const out = new Array<number>(size(shape));
    for (let o = 0; o < out.length; o++) {
      let [rem, ia, ib] = [o, 0, 0];
      for (let k = 0; k < rank; k++) {
        const q = Math.floor(rem / ost[k]!);
        rem -= q * ost[k]!;
        if (sa[k] !== 1) ia += q * ta[k]!;
        if (sb[k] !== 1) ib += q * tb[k]!;
      }
      out[o] = op(va[ia]!, vb[ib]!, a.kind === 'int');
    }
    return make(a.kind, shape, out);
  };

const FLOAT_TYPES = new Set([1]); // FLOAT
const INT_TYPES = new Set([6, 7]); // INT32, INT64

export const FOLDERS: Record<string, Folder> = {
  Shape(f) {
    const c = f.constant(0);
    const shape = c ? c.shape : f.computed(0)?.shape;
    if (!shape) return undefined;
    const r = shape.length;
    const clampEnd = (v: number) => Math.min(r, Math.max(0, v < 0 ? v + r : v));
    const start = clampEnd(f.int('start', 0));
    const end = clampEnd(f.int('end', r));
    const dims = shape.slice(start, Math.max(start, end));
    return { kind: 'int', shape: [dims.length], data: dims };
  },
  Gather(f) {
    const cs = all(f, 2);
    if (!cs) return undefined;
    const [data, idx] = cs as [ConstValue, ConstValue];
    if (idx.kind !== 'int') f.refuse('indices must be integers');
    const ax = axis(f.int('axis', 0), data.shape.length, f);
    const len = data.shape[ax]!;
    const ids = idx.data.map((i) => (i < 0 ? i + len : i));
    if (ids.some((i) => i < 0 || i >= len)) f.refuse(`an index is outside axis ${ax} of length ${len}`);
    // Gather = take along the axis, with the indices' shape in place of that axis.
    const taken = take(data, ax, (q) => ids[q]!, ids.length);
    const shape = [...data.shape.slice(0, ax), ...idx.shape, ...data.shape.slice(ax + 1)];
    return make(taken.kind, shape, values(taken));
  },
  Cast(f) {
    const c = f.constant(0);
    if (!c) return undefined;
    const to = f.int('to', 0);
    if (FLOAT_TYPES.has(to)) return make('float', c.shape, values(c));
    if (INT_TYPES.has(to)) return make('int', c.shape, values(c).map(Math.trunc));
    return f.refuse(`Cast to type ${to} is not supported (float32 and integer shapes only)`);
  },
  Unsqueeze(f) {
    const c = f.constant(0);
    if (!c) return undefined;
    const axes = unsqueezeAxes(f, c.shape.length);
    return make(c.kind, unsqueezedShape(c.shape, axes), values(c));
  },
  Squeeze(f) {
    const c = f.constant(0);
    if (!c) return undefined;
    return make(c.kind, squeezedShape(c.shape, squeezeAxes(f), f), values(c));
  },
  Concat(f) {
    const n = (f.node.input ?? []).length;
    const cs = all(f, n);
    if (!cs) return undefined;
    const first = cs[0]!;
    const ax = axis(f.int('axis', 0), first.shape.length, f);
    // Walk the output along the axis: each input contributes its slice in turn.
    const parts = cs.map((c) => ({ c, len: c.shape[ax]! }));
    const total = parts.reduce((s, p) => s + p.len, 0);
    const owner: { c: ConstValue; at: number }[] = [];
    for (const p of parts) for (let i = 0; i < p.len; i++) owner.push({ c: p.c, at: i });
    const shape = [...first.shape];
    shape[ax] = total;
    const ost = strides(shape);
    const out = new Array<number>(size(shape));
    for (let o = 0; o < out.length; o++) {
      let rem = o;
      const coord: number[] = [];
      for (let k = 0; k < shape.length; k++) {
        coord.push(Math.floor(rem / ost[k]!));
        rem -= coord[k]! * ost[k]!;
      }
      const { c, at } = owner[coord[ax]!]!;
      coord[ax] = at;
      const st = strides(c.shape);
      out[o] = c.data[coord.reduce((s, q, k) => s + q * st[k]!, 0)]!;
    }
    return make(first.kind, shape, out);
  },
  Slice(f) {
    const data = f.constant(0);
    if (!data) return undefined;
    const r = data.shape.length;
    let starts: number[];
    let ends: number[];
    let axes: number[];
    let steps: number[];
    if (f.opset < 10) {
      starts = f.ints('starts', []);
      ends = f.ints('ends', []);
      axes = f.ints(
        'axes',
        starts.map((_, i) => i),
      );
      steps = starts.map(() => 1);
    } else {
      const ints = (i: number, fallback?: number[]) => {
        const c = f.constant(i);
        if (!c) {
          if ((f.node.input ?? [])[i]) f.refuse(`input ${i} of Slice must be a constant`);
          return fallback;
        }
        return values(c);
      };
      starts = ints(1) ?? f.refuse('starts are missing');
      ends = ints(2) ?? f.refuse('ends are missing');
      axes = ints(
        3,
        starts.map((_, i) => i),
      )!;
      steps = ints(
        4,
        starts.map(() => 1),
      )!;
    }
    let out = data;
    axes.forEach((a0, k) => {
      const a = axis(a0, r, f);
      const len = out.shape[a]!;
      const step = steps[k]!;
      if (step === 0) f.refuse('a step of 0');
      const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v < 0 ? v + len : v));
      const picks: number[] = [];
      if (step > 0) {
        const [s, e] = [clamp(starts[k]!, 0, len), clamp(ends[k]!, 0, len)];
        for (let i = s; i < e; i += step) picks.push(i);
      } else {
        const [s, e] = [clamp(starts[k]!, -1, len - 1), clamp(ends[k]!, -1, len - 1)];
        for (let i = s; i > e; i += step) picks.push(i);
      }
      out = take(out, a, (q) => picks[q]!, picks.length);
    });
    return out;
  },
  Reshape(f) {
    const c = f.constant(0);
    if (!c) return undefined;
    const target = f.opset < 5 ? f.ints('shape', []) : f.constant(1) ? values(f.constant(1)!) : undefined;
    if (!target) return undefined;
    const shape = target.map((d, i) => (d === 0 ? c.shape[i]! : d));
    const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
    const n = size(c.shape);
    return make(
      c.kind,
      shape.map((d) => (d === -1 ? n / known : d)),
      values(c),
    );
  },
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  // Integer Div truncates toward zero, as ONNX's reference and onnxruntime do.
  Div: binary((a, b, int) => (int ? Math.trunc(a / b) : a / b)),
};

/** Unsqueeze's axes (an attribute before opset 13, an input after), for an output of rank r + n. */
export function unsqueezeAxes(f: FoldInput, rank: number): number[] {
  const raw = f.opset < 13 ? f.ints('axes', []) : f.constant(1) ? values(f.constant(1)!) : undefined;
  if (!raw) return f.refuse('axes must be a constant');
  const out = rank + raw.length;
  return raw.map((a) => axis(a, out, f)).sort((x, y) => x - y);
}

export function unsqueezedShape(shape: number[], axes: number[]): number[] {
  const out = [...shape];
  for (const a of axes) out.splice(a, 0, 1);
  return out;
}

/** Squeeze's axes, or undefined for "every axis of size 1". */
export function squeezeAxes(f: FoldInput): number[] | undefined {
  if (f.opset < 13) return f.ints('axes', []).length ? f.ints('axes', []) : undefined;
  const c = f.constant(1);
  if (!c && (f.node.input ?? [])[1]) f.refuse('axes must be a constant');
  return c ? values(c) : undefined;
}

export function squeezedShape(shape: number[], axes: number[] | undefined, f: FoldInput): number[] {
  if (!axes) return shape.filter((d) => d !== 1);
  const norm = axes.map((a) => axis(a, shape.length, f));
  for (const a of norm) if (shape[a] !== 1) f.refuse(`axis ${a} has size ${shape[a]}, not 1`);
  return shape.filter((_, i) => !norm.includes(i));
}
