// ONNX op -> IR op, one importer per ONNX op type. Each reads every attribute the op has in
// opsets 1 to 17 and refuses a value it cannot represent, rather than import it wrongly.
import type { SymbolicTensor } from '@cardinal/core';
import { type NodeImport, type OpImporter, shortestFloat32 } from './context.js';

const pair = (v: number[], what: string, n: NodeImport): [number, number] => {
  if (v.length !== 2) n.refuse(`${what} [${v.join(', ')}] is not 2-D (only 2-D convolution and pooling)`);
  return [v[0]!, v[1]!];
};

/** NOTSET and VALID (no padding) are what exporters of this family write; SAME_* pads by input size. */
function explicitPads(n: NodeImport): [number, number, number, number] {
  const auto = n.str('auto_pad', 'NOTSET');
  if (auto === 'VALID') return [0, 0, 0, 0];
  if (auto !== 'NOTSET') n.refuse(`auto_pad ${auto} is not supported (export with explicit pads)`);
  const p = n.ints('pads', [0, 0, 0, 0]);
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
  const x = n.data(0);
  const w = n.floatConstant(1, 'the weight');
  if (w.shape.length !== 4) n.refuse(`weight of rank ${w.shape.length}: only 2-D convolution`);
  const b = n.constant(2);
  if (b && (b.kind !== 'float' || b.shape.length !== 1)) n.refuse('the bias must be a 1-D float32 constant');
  const kernel = pair(n.ints('kernel_shape', w.shape.slice(2)), 'kernel_shape', n);
  if (kernel[0] !== w.shape[2] || kernel[1] !== w.shape[3]) n.refuse('kernel_shape differs from the weight');
  const params: Record<string, { shape: number[]; data: Float32Array }> = { weight: w };
  if (b?.kind === 'float') params.bias = { shape: b.shape, data: b.data };
  return n.emit(
    'conv2d',
    [x],
    {
      outChannels: w.shape[0]!,
      kernel,
      stride: pair(n.ints('strides', [1, 1]), 'strides', n),
      padding: explicitPads(n),
      dilation: pair(n.ints('dilations', [1, 1]), 'dilations', n),
      groups: n.int('group', 1),
      bias: !!b,
    },
    params,
  );
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
  (op: 'relu' | 'sigmoid'): OpImporter =>
  (n) => {
    n.only('consumed_inputs');
    return n.emit(op, [n.data(0)], {});
  };

const binary =
  (op: 'add' | 'mul'): OpImporter =>
  (n) => {
    n.only('consumed_inputs', 'broadcast', 'axis');
    if (n.has('axis')) n.refuse("legacy broadcasting with 'axis' is not supported");
    return n.emit(op, [n.data(0), n.data(1)], {});
  };

const softmax: OpImporter = (n) => {
  n.only('axis');
  const x = n.data(0);
  const rank = rankOf(x);
  if (n.opset >= 13) return n.emit('softmax', [x], { axis: axisOf(n.int('axis', -1), rank, n) });
  // Before opset 13, Softmax normalises over all dimensions from `axis` on (as one flattened
  // row): that is one axis only when every later dimension is 1.
  const axis = axisOf(n.int('axis', 1), rank, n);
  if (x.shape.slice(axis + 1).some((d) => d !== 1))
    n.refuse(
      `opset ${n.opset} Softmax over dimensions ${axis}.. of [${x.shape.join(', ')}] (more than one axis) is not supported`,
    );
  return n.emit('softmax', [x], { axis });
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
  if (n.int('allowzero', 0) !== 0) n.refuse('allowzero 1 is not supported');
  let shape: number[];
  if (n.opset < 5) shape = n.ints('shape', []);
  else {
    const c = n.constant(1);
    if (!c || c.kind !== 'int') return n.refuse('the shape must be a constant integer tensor');
    shape = c.data;
  }
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
    const attrs: Record<string, number | boolean | number[]> = {
      kernel: pair(n.ints('kernel_shape', []), 'kernel_shape', n),
      stride: pair(n.ints('strides', [1, 1]), 'strides', n),
      padding: explicitPads(n),
      ceilMode: n.int('ceil_mode', 0) === 1,
    };
    if (op === 'maxPool') attrs.dilation = pair(n.ints('dilations', [1, 1]), 'dilations', n);
    else {
      if (n.has('dilations') && n.ints('dilations', [1, 1]).some((d) => d !== 1))
        n.refuse('dilated average pooling is not supported');
      attrs.countIncludePad = n.int('count_include_pad', 0) === 1;
    }
    return n.emit(op, [n.data(0)], attrs);
  };

const globalAvgPool: OpImporter = (n) => {
  n.only();
  return n.emit('globalAvgPool', [n.data(0)], {});
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

/** Gemm as a linear layer: A [N, in] times B (the weight), plus C (the bias). */
const gemm: OpImporter = (n) => {
  n.only('alpha', 'beta', 'transA', 'transB', 'broadcast');
  if (n.float('alpha', 1) !== 1 || n.float('beta', 1) !== 1)
    n.refuse('alpha and beta other than 1 are not supported');
  if (n.int('transA', 0) !== 0) n.refuse('transA 1 is not supported');
  const x = n.data(0);
  if (rankOf(x) !== 2) n.refuse(`input A of rank ${rankOf(x)} (Gemm takes 2-D)`);
  const b = n.floatConstant(1, 'B (the weight)');
  if (b.shape.length !== 2) n.refuse('B must be 2-D');
  let weight = b;
  if (n.int('transB', 0) === 0) {
    // B is [in, out]: the IR keeps PyTorch's [out, in].
    const [k, m] = b.shape as [number, number];
    const data = new Float32Array(k * m);
    for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) data[j * k + i] = b.data[i * m + j]!;
    weight = { shape: [m, k], data };
  }
  const out = weight.shape[0]!;
  const c = n.constant(2);
  const params: Record<string, { shape: number[]; data: Float32Array }> = { weight };
  if (c) {
    if (c.kind !== 'float' || c.data.length !== out)
      return n.refuse(`C must be ${out} float32 values (one per output)`);
    params.bias = { shape: [out], data: c.data };
  }
  return n.emit('linear', [x], { outFeatures: out, bias: !!c }, params);
};

export const IMPORTERS: Record<string, OpImporter> = {
  Conv: conv,
  BatchNormalization: batchNorm,
  Relu: unary('relu'),
  Sigmoid: unary('sigmoid'),
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
