// ONNX op -> IR op, one importer per ONNX op type. Each reads every attribute the op has in
// opsets 1 to 17 and refuses a value it cannot represent, rather than import it wrongly.
import type { SymbolicTensor } from '@cardinal/core';
import { type NodeImport, type OpImporter, shortestFloat32 } from './context.js';
import { squeezeAxes, squeezedShape, unsqueezeAxes, unsqueezedShape } from './fold.js';

const pair = (v: number[], what: string, n: NodeImport): [number, number] => {
  if (v.length !== 2)
    n.refuse(`${what} [${v.join(', ')}] is not 2-D (only 1-D and 2-D convolution and pooling)`);
  return [v[0]!, v[1]!];
};

/**
 * Convolution and pooling over 1-D [N, C, L] inputs run as 2-D ones over [N, C, 1, L]: each
 * list gains a leading 1 (pads a 0 at both ends of the new axis). 3-D ones are refused.
 */
function spatial(n: NodeImport, what: string) {
  const x = n.data(0);
  const r = rankOf(x);
  if (r !== 3 && r !== 4) n.refuse(`a rank-${r} input: only 1-D and 2-D ${what}`);
  const oneD = r === 3;
  const lift = (v: number[], unit: number) => (oneD && v.length === 1 ? [unit, v[0]!] : v);
  return {
    x: oneD ? n.reshaped(x, [x.shape[0]!, x.shape[1]!, 1, x.shape[2]!]) : x,
    oneD,
    pair: (name: string, fallback: number[]) => pair(lift(n.ints(name, fallback), 1), name, n),
    pads: (p: number[]) => (oneD && p.length === 2 ? [0, p[0]!, 0, p[1]!] : p),
    out: (y: SymbolicTensor[]) =>
      oneD ? [n.reshaped(y[0]!, [y[0]!.shape[0]!, y[0]!.shape[1]!, y[0]!.shape[3]!])] : y,
  };
}

/**
 * The padding as [top, left, bottom, right]. auto_pad SAME_* pads so that the output is
 * ceil(input / stride), the odd pixel at the end (SAME_UPPER) or the beginning (SAME_LOWER):
 * the shapes are static, so that is explicit padding here.
 */
function explicitPads(
  n: NodeImport,
  input: readonly number[],
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number] = [1, 1],
  lift: (p: number[]) => number[] = (p) => p,
): [number, number, number, number] {
  const auto = n.str('auto_pad', 'NOTSET');
  if (auto === 'VALID') return [0, 0, 0, 0];
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const total = [0, 1].map((i) => {
      const size = input[2 + i]!;
      const out = Math.ceil(size / stride[i]!);
      return Math.max(0, (out - 1) * stride[i]! + (kernel[i]! - 1) * dilation[i]! + 1 - size);
    });
    const begin = total.map((t) => (auto === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
    return [begin[0]!, begin[1]!, total[0]! - begin[0]!, total[1]! - begin[1]!];
  }
  if (auto !== 'NOTSET') n.refuse(`auto_pad ${auto} is not supported`);
  const p = lift(n.ints('pads', [0, 0, 0, 0]));
  if (p.length !== 4) n.refuse(`pads [${p.join(', ')}] are not 2-D`);
  return [p[0]!, p[1]!, p[2]!, p[3]!];
}

const rankOf = (t: SymbolicTensor) => t.shape.length;
const axisOf = (axis: number, rank: number, n: NodeImport) => {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) n.refuse(`axis ${axis} is outside a rank-${rank} tensor`);
  return a;
};

const conv: OpImporter = (n) => {
  n.only('kernel_shape', 'strides', 'pads', 'dilations', 'group', 'auto_pad');
  const sp = spatial(n, 'convolution');
  const x = sp.x;
  const given = n.floatConstant(1, 'the weight');
  if (given.shape.length !== (sp.oneD ? 3 : 4))
    n.refuse(`a weight of rank ${given.shape.length} for a rank-${sp.oneD ? 3 : 4} input`);
  const w = sp.oneD
    ? { shape: [given.shape[0]!, given.shape[1]!, 1, given.shape[2]!], data: given.data }
    : given;
  const b = n.constant(2);
  if (b && (b.kind !== 'float' || b.shape.length !== 1)) n.refuse('the bias must be a 1-D float32 constant');
  const kernel = sp.pair('kernel_shape', given.shape.slice(2));
  if (kernel[0] !== w.shape[2] || kernel[1] !== w.shape[3]) n.refuse('kernel_shape differs from the weight');
  const params: Record<string, { shape: number[]; data: Float32Array }> = { weight: w };
  if (b?.kind === 'float') params.bias = { shape: b.shape, data: b.data };
  const stride = sp.pair('strides', sp.oneD ? [1] : [1, 1]);
  const dilation = sp.pair('dilations', sp.oneD ? [1] : [1, 1]);
  const y = n.emit(
    'conv2d',
    [x],
    {
      outChannels: w.shape[0]!,
      kernel,
      stride,
      padding: explicitPads(n, x.shape, kernel, stride, dilation, sp.pads),
      dilation,
      groups: n.int('group', 1),
      bias: !!b,
    },
    params,
  );
  return sp.out(y);
};

const batchNorm: OpImporter = (n) => {
  n.only('epsilon', 'momentum', 'spatial', 'is_test', 'consumed_inputs', 'training_mode');
  if (n.int('training_mode', 0) !== 0) n.refuse('training_mode 1 is not supported (inference only)');
  if (n.int('spatial', 1) !== 1) n.refuse('spatial 0 is not supported');
  if ((n.node.output ?? []).filter((o) => o).length > 1)
    n.refuse('running statistics outputs (training) are not supported');
  const roles = ['weight', 'bias', 'running_mean', 'running_var'] as const;
  const params = Object.fromEntries(roles.map((r, i) => [r, n.floatConstant(i + 1, r)]));
  return n.emit(
    'batchNorm',
    [n.data(0)],
    { eps: n.float('epsilon', 1e-5), momentum: shortestFloat32(1 - n.float('momentum', 0.9)) },
    params,
  );
};

const unary =
  (op: 'relu' | 'sigmoid' | 'hardSwish'): OpImporter =>
  (n) => {
    n.only('consumed_inputs');
    return n.emit(op, [n.data(0)], {});
  };

const leakyRelu: OpImporter = (n) => {
  n.only('alpha', 'consumed_inputs');
  return n.emit('leakyRelu', [n.data(0)], { alpha: n.float('alpha', 0.01) });
};

const hardSigmoid: OpImporter = (n) => {
  n.only('alpha', 'beta', 'consumed_inputs');
  return n.emit('hardSigmoid', [n.data(0)], { alpha: n.float('alpha', 0.2), beta: n.float('beta', 0.5) });
};

/** Clip's bounds: attributes before opset 11, optional scalar inputs after. */
const clip: OpImporter = (n) => {
  n.only('min', 'max', 'consumed_inputs');
  const bound = (i: number, name: 'min' | 'max') => {
    if (n.opset < 11) return n.has(name) ? n.float(name, 0) : undefined;
    const c = n.constant(i);
    if (!c) return undefined;
    if (c.kind !== 'float' || c.data.length !== 1) return n.refuse(`${name} must be a float32 scalar`);
    return shortestFloat32(c.data[0]!);
  };
  const attrs: Record<string, number> = {};
  const [lo, hi] = [bound(1, 'min'), bound(2, 'max')];
  if (lo !== undefined) attrs.min = lo;
  if (hi !== undefined) attrs.max = hi;
  return n.emit('clip', [n.data(0)], attrs);
};

/** Add, Sub, Mul, Div with NumPy broadcasting: the lower-rank side gains leading 1s. */
const binary =
  (op: 'add' | 'mul' | 'sub' | 'div'): OpImporter =>
  (n) => {
    n.only('consumed_inputs', 'broadcast', 'axis');
    if (n.has('axis')) n.refuse("legacy broadcasting with 'axis' is not supported");
    if (n.opset < 7 && n.int('broadcast', 0) === 1)
      n.refuse('legacy broadcasting (opset < 7) is not supported');
    const rank = Math.max(...[0, 1].map((i) => n.rankOfInput(i)));
    return n.emit(op, [n.data(0, rank), n.data(1, rank)], {});
  };

const softmax: OpImporter = (n) => {
  n.only('axis');
  const x = n.data(0);
  const rank = rankOf(x);
  if (n.opset >= 13) return n.emit('softmax', [x], { axis: axisOf(n.int('axis', -1), rank, n) });
  // Before opset 13, Softmax normalises over all dimensions from `axis` on, as one flattened
  // row: one axis when every later dimension is 1, else a softmax of the rows viewed as 2-D.
  const axis = axisOf(n.int('axis', 1), rank, n);
  if (x.shape.slice(axis + 1).every((d) => d === 1)) return n.emit('softmax', [x], { axis });
  const rows = x.shape.slice(0, axis).reduce((a, d) => a * d, 1);
  const flat = n.reshaped(x, [rows, -1]);
  const y = n.inner('softmax', [flat], { axis: 1 });
  return n.emit('reshape', [y], { shape: [...x.shape] });
};

const concat: OpImporter = (n) => {
  n.only('axis');
  const xs = (n.node.input ?? []).map((_, i) => n.data(i));
  return n.emit('concat', xs, { axis: axisOf(n.int('axis', 1), rankOf(xs[0]!), n) });
};

const split: OpImporter = (n) => {
  n.only('axis', 'split', 'num_outputs');
  const x = n.data(0);
  const axis = axisOf(n.int('axis', 0), rankOf(x), n);
  const outputs = (n.node.output ?? []).length;
  const given = n.input(1) !== undefined ? n.constant(1) : undefined;
  let sizes: number[];
  if (given) {
    if (given.kind !== 'int') return n.refuse('split sizes must be integers');
    sizes = given.data;
  } else if (n.has('split')) sizes = n.ints('split', []);
  else {
    const d = x.shape[axis]!;
    if (d % outputs !== 0) n.refuse(`dimension ${d} does not split into ${outputs} equal parts`);
    sizes = Array.from({ length: outputs }, () => d / outputs);
  }
  if (sizes.length !== outputs) n.refuse(`${sizes.length} sizes for ${outputs} outputs`);
  return n.emit('split', [x], { axis, sizes });
};

const reshape: OpImporter = (n) => {
  n.only('allowzero', 'shape');
  const allowZero = n.int('allowzero', 0) === 1;
  let shape: number[];
  if (n.opset < 5) shape = n.ints('shape', []);
  else {
    const c = n.constant(1);
    if (c?.kind !== 'int') return n.refuse('the shape must be a constant integer tensor');
    shape = c.data;
  }
  // allowzero 1 makes a 0 an empty axis rather than a copy: the same where there is no 0.
  if (allowZero && shape.includes(0))
    n.refuse('allowzero 1 with a 0 in the shape (empty tensors are out of scope)');
  return n.emit('reshape', [n.data(0)], { shape });
};

const transpose: OpImporter = (n) => {
  n.only('perm');
  const x = n.data(0);
  const perm = n.ints(
    'perm',
    Array.from({ length: rankOf(x) }, (_, i) => rankOf(x) - 1 - i),
  );
  return n.emit('transpose', [x], { perm });
};

const pool =
  (op: 'maxPool' | 'avgPool'): OpImporter =>
  (n) => {
    n.only(
      'kernel_shape',
      'strides',
      'pads',
      'ceil_mode',
      'auto_pad',
      'dilations',
      'storage_order',
      'count_include_pad',
    );
    if ((n.node.output ?? []).filter((o) => o).length > 1) n.refuse('the Indices output is not supported');
    if (n.int('storage_order', 0) !== 0) n.refuse('storage_order 1 is not supported');
    const sp = spatial(n, 'pooling');
    const x = sp.x;
    const kernel = sp.pair('kernel_shape', []);
    const stride = sp.pair('strides', sp.oneD ? [1] : [1, 1]);
    const dilation = sp.pair('dilations', sp.oneD ? [1] : [1, 1]);
    const attrs: Record<string, number | boolean | number[]> = {
      kernel,
      stride,
      padding: explicitPads(n, x.shape, kernel, stride, dilation, sp.pads),
      ceilMode: n.int('ceil_mode', 0) === 1,
    };
    if (op === 'maxPool') attrs.dilation = dilation;
    else {
      if (dilation.some((d) => d !== 1)) n.refuse('dilated average pooling is not supported');
      attrs.countIncludePad = n.int('count_include_pad', 0) === 1;
    }
    return sp.out(n.emit(op, [x], attrs));
  };

const globalAvgPool: OpImporter = (n) => {
  n.only();
  return n.emit('globalAvgPool', [n.data(0)], {});
};

const globalMaxPool: OpImporter = (n) => {
  n.only();
  return n.emit('globalMaxPool', [n.data(0)], {});
};

const flatten: OpImporter = (n) => {
  n.only('axis');
  const x = n.data(0);
  // Flatten's axis runs from -rank to rank (rank: everything in the first dimension).
  const r = rankOf(x);
  const given = n.int('axis', 1);
  const axis = given < 0 ? given + r : given;
  if (axis < 0 || axis > r) n.refuse(`axis ${given} is outside [-${r}, ${r}]`);
  return n.emit('flatten', [x], { axis });
};

const transposed = (b: { shape: number[]; data: Float32Array }) => {
  const [k, m] = b.shape as [number, number];
  const data = new Float32Array(k * m);
  for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) data[j * k + i] = b.data[i * m + j]!;
  return { shape: [m, k], data };
};
const scaled = (t: { shape: number[]; data: Float32Array }, s: number) =>
  s === 1 ? t : { shape: t.shape, data: t.data.map((v) => v * s) };

/**
 * Gemm as a linear layer: alpha * A' B' + beta * C with B (the weight) and C constants. C of
 * one value per output is the layer's bias; any other broadcastable C is added after it.
 */
const gemm: OpImporter = (n) => {
  n.only('alpha', 'beta', 'transA', 'transB', 'broadcast');
  const [alpha, beta] = [n.float('alpha', 1), n.float('beta', 1)];
  let x = n.data(0);
  if (rankOf(x) !== 2) n.refuse(`input A of rank ${rankOf(x)} (Gemm takes 2-D)`);
  if (n.int('transA', 0) === 1) x = n.inner('transpose', [x], { perm: [1, 0] });
  const b = n.floatConstant(1, 'B (the weight)');
  if (b.shape.length !== 2) n.refuse('B must be 2-D');
  // The IR keeps PyTorch's [out, in]; B is [in, out] unless transB.
  const weight = scaled(n.int('transB', 0) === 0 ? transposed(b) : b, alpha);
  const out = weight.shape[0]!;
  const computedC = n.input(2) !== undefined && !n.isConstant(2);
  const c = computedC ? undefined : n.constant(2);
  if (c && c.kind !== 'float') return n.refuse('C must be float32');
  const asBias = c && c.data.length === out && c.shape.length <= 2 && c.shape.at(-1) === out;
  const params: Record<string, { shape: number[]; data: Float32Array }> = { weight };
  if (c && asBias) params.bias = scaled({ shape: [out], data: c.data }, beta);
  const y = n.emit('linear', [x], { outFeatures: out, bias: !!asBias }, params);
  if ((!c && !computedC) || asBias || beta === 0) return y;
  const bias = n.data(2, 2);
  if (beta !== 1) n.refuse('beta other than 1 with a C that is not one value per output');
  return [n.inner('add', [y[0]!, bias], {})];
};

/** MatMul: a linear layer when B is a 2-D constant and A is 2-D; else NumPy's matmul. */
const matMul: OpImporter = (n) => {
  n.only();
  const [ra, rb] = [n.rankOfInput(0), n.rankOfInput(1)];
  if (ra === 2 && rb === 2 && n.isConstant(1)) {
    const b = n.floatConstant(1, 'B');
    return n.emit(
      'linear',
      [n.data(0)],
      { outFeatures: b.shape[1]!, bias: false },
      { weight: transposed(b) },
    );
  }
  // 1-D operands are a row (A) or a column (B) whose added axis is removed after.
  const rank = Math.max(ra, rb, 2);
  const a = ra === 1 ? n.reshaped(n.data(0), [1, -1]) : n.data(0);
  const b = rb === 1 ? n.reshaped(n.data(1), [-1, 1]) : n.data(1);
  const lift = (t: SymbolicTensor) =>
    t.shape.length < rank ? n.reshaped(t, [...Array(rank - t.shape.length).fill(1), ...t.shape]) : t;
  const y = n.inner('matMul', [lift(a), lift(b)], {});
  let shape = [...y.shape];
  if (rb === 1) shape = shape.slice(0, -1);
  if (ra === 1) shape.splice(shape.length - (rb === 1 ? 1 : 2), 1);
  return n.emit('reshape', [y], { shape });
};

/** ReduceMean / ReduceSum: axes an attribute (ReduceSum an input from opset 13, ReduceMean from 18). */
const reduce =
  (op: 'reduceMean' | 'reduceSum'): OpImporter =>
  (n) => {
    n.only('axes', 'keepdims', 'noop_with_empty_axes');
    const x = n.data(0);
    const given = n.input(1) !== undefined ? n.constant(1) : undefined;
    if (given && given.kind !== 'int') return n.refuse('axes must be integers');
    let axes = given ? given.data : n.ints('axes', []);
    if (axes.length === 0) {
      if (n.int('noop_with_empty_axes', 0) === 1) return n.emit('reshape', [x], { shape: [...x.shape] });
      axes = x.shape.map((_, i) => i);
    }
    const norm = [...new Set(axes.map((a) => axisOf(a, rankOf(x), n)))].sort((a, b) => a - b);
    return n.emit(op, [x], { axes: norm, keepDims: n.int('keepdims', 1) === 1 });
  };

/** Pad in constant mode: pads (and the value) attributes before opset 11, inputs after. */
const pad: OpImporter = (n) => {
  n.only('mode', 'pads', 'value', 'paddings');
  const mode = n.str('mode', 'constant');
  if (mode !== 'constant') n.refuse(`mode '${mode}' is not supported (constant only)`);
  const x = n.data(0);
  let pads: number[];
  let value = 0;
  if (n.opset < 11) {
    pads = n.ints('pads', n.ints('paddings', []));
    value = n.float('value', 0);
  } else {
    const p = n.constant(1);
    if (p?.kind !== 'int') return n.refuse('pads must be a constant integer tensor');
    pads = p.data;
    const v = n.input(2) !== undefined ? n.constant(2) : undefined;
    if (v) {
      if (v.kind !== 'float' || v.data.length !== 1)
        return n.refuse('constant_value must be a float32 scalar');
      value = shortestFloat32(v.data[0]!);
    }
    if (n.input(3) !== undefined) n.refuse('the axes input is not supported');
  }
  if (pads.length !== 2 * rankOf(x)) n.refuse(`${pads.length} pads for a rank-${rankOf(x)} input`);
  if (pads.some((p) => p < 0)) n.refuse('negative pads (cropping) are not supported');
  return n.emit('pad', [x], { pads, value });
};

/** Squeeze and Unsqueeze of a computed tensor are reshapes to the static shape they give. */
const squeeze: OpImporter = (n) => {
  n.only('axes');
  const x = n.data(0);
  return n.emit('reshape', [x], { shape: squeezedShape([...x.shape], squeezeAxes(n.fold()), n.fold()) });
};
const unsqueeze: OpImporter = (n) => {
  n.only('axes');
  const x = n.data(0);
  return n.emit('reshape', [x], { shape: unsqueezedShape([...x.shape], unsqueezeAxes(n.fold(), rankOf(x))) });
};

export const IMPORTERS: Record<string, OpImporter> = {
  Conv: conv,
  BatchNormalization: batchNorm,
  Relu: unary('relu'),
  Sigmoid: unary('sigmoid'),
  HardSwish: unary('hardSwish'),
  LeakyRelu: leakyRelu,
  HardSigmoid: hardSigmoid,
  Clip: clip,
  Sub: binary('sub'),
  Div: binary('div'),
  MatMul: matMul,
  GlobalMaxPool: globalMaxPool,
  ReduceMean: reduce('reduceMean'),
  ReduceSum: reduce('reduceSum'),
  Pad: pad,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Softmax: softmax,
  Add: binary('add'),
  Mul: binary('mul'),
  Concat: concat,
  Split: split,
  Reshape: reshape,
  Transpose: transpose,
  MaxPool: pool('maxPool'),
  AveragePool: pool('avgPool'),
  GlobalAveragePool: globalAvgPool,
  Flatten: flatten,
  Gemm: gemm,
};
