import { formatShape, GraphError, ShapeError } from '../errors.js';
import type { GradTensor } from '../grad/rule.js';
import { shapeSize, stridesOf, type Tensor } from '../tensor.js';
import { normaliseAxis } from './activations.js';
import type { OpDef } from './op-def.js';

/** Copies blocks along `axis`: the tensor is viewed as [outer, len, inner]. */
function axisView(shape: readonly number[], axis: number): { outer: number; len: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return { outer, len: shape[axis]!, inner };
}

export const concatOp: OpDef<'concat'> = {
  name: 'concat',
  arity: [1, Number.POSITIVE_INFINITY],
  attrs: { axis: { kind: 'int' } },
  inferShapes(shapes, attrs, ctx) {
    const first = shapes[0]!;
    const axis = normaliseAxis(attrs.axis, first.length, ctx.path);
    const out = [...first];
    out[axis] = 0;
    for (const s of shapes) {
      if (s.length !== first.length || s.some((d, i) => i !== axis && d !== first[i])) {
        throw new ShapeError(
          `${ctx.path}: concat along axis ${axis} got incompatible shapes ${shapes.map(formatShape).join(', ')}`,
        );
      }
      out[axis]! += s[axis]!;
    }
    return [out];
  },
  params: () => [],
  macs: () => 0,
  reference({ inputs, attrs }) {
    const axis = normaliseAxis(attrs.axis, inputs[0]!.shape.length, 'concat');
    const shape = [...inputs[0]!.shape];
    shape[axis] = inputs.reduce((s, t) => s + t.shape[axis]!, 0);
    const { outer, len, inner } = axisView(shape, axis);
    const out = new Float32Array(shapeSize(shape));
    let offset = 0;
    for (const t of inputs) {
      const tl = t.shape[axis]! * inner;
      for (let o = 0; o < outer; o++)
        out.set(t.data.subarray(o * tl, (o + 1) * tl), o * len * inner + offset);
      offset += tl;
    }
    return [{ shape, data: out }];
  },
  grad(node, [dy], g) {
    if (!dy) return { inputs: node.inputs.map(() => undefined) };
    const axis = normaliseAxis(node.attrs.axis, dy.shape.length, node.path);
    const sizes = node.inputs.map((t) => g.tensor(t).shape[axis]!);
    return { inputs: sizes.length === 1 ? [dy] : g.op('split', [dy], { axis, sizes }) };
  },
};

export const splitOp: OpDef<'split'> = {
  name: 'split',
  arity: [1, 1],
  attrs: { axis: { kind: 'int' }, sizes: { kind: 'ints' } },
  inferShapes(shapes, attrs, ctx) {
    const x = shapes[0]!;
    const axis = normaliseAxis(attrs.axis, x.length, ctx.path);
    const sizes = attrs.sizes;
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== x[axis] || sizes.some((s) => s < 1)) {
      throw new ShapeError(
        `${ctx.path}: split sizes ${formatShape(sizes)} do not add up to axis ${axis} of ${formatShape(x)}`,
      );
    }
    return sizes.map((s) => x.map((d, i) => (i === axis ? s : d)));
  },
  params: () => [],
  macs: () => 0,
  reference({ inputs, attrs }) {
    const x = inputs[0]!;
    const axis = normaliseAxis(attrs.axis, x.shape.length, 'split');
    const sizes = attrs.sizes;
    const { outer, len, inner } = axisView(x.shape, axis);
    const outs: Tensor[] = [];
    let offset = 0;
    for (const s of sizes) {
      const shape = x.shape.map((d, i) => (i === axis ? s : d));
      const data = new Float32Array(outer * s * inner);
      for (let o = 0; o < outer; o++) {
        const src = o * len * inner + offset * inner;
        data.set(x.data.subarray(src, src + s * inner), o * s * inner);
      }
      outs.push({ shape, data });
      offset += s;
    }
    return outs;
  },
  // Outputs no gradient reaches contribute zeros (the output times 0, of its shape).
  grad(node, dys, g) {
    if (dys.every((d) => !d)) return { inputs: [undefined] };
    const parts = node.outputs.map(
      (t, k): GradTensor => dys[k] ?? g.op('scale', [g.tensor(t)], { alpha: 0 })[0]!,
    );
    const axis = node.attrs.axis;
    return { inputs: [parts.length === 1 ? parts[0] : g.op('concat', parts, { axis })[0]] };
  },
};

/**
 * Target shape of a reshape. As in ONNX, 0 copies the input's dimension at that index and
 * one -1 is inferred, so a graph's reshapes do not bake in the batch size.
 */
export function resolveReshape(input: readonly number[], target: readonly number[], path: string): number[] {
  const out = target.map((d, i) => {
    if (d === 0) {
      if (i >= input.length)
        throw new ShapeError(
          `${path}: reshape 0 at axis ${i} has no input axis to copy (input ${formatShape(input)})`,
        );
      return input[i]!;
    }
    return d;
  });
  const inferred = out.filter((d) => d === -1).length;
  if (inferred > 1 || out.some((d) => d < -1)) {
    throw new ShapeError(`${path}: invalid reshape target ${formatShape(target)}`);
  }
  const known = out.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const size = shapeSize(input);
  if (inferred === 1) {
    if (known === 0 || size % known !== 0) {
      throw new ShapeError(`${path}: cannot reshape ${formatShape(input)} to ${formatShape(target)}`);
    }
    return out.map((d) => (d === -1 ? size / known : d));
  }
  if (known !== size)
    throw new ShapeError(
      `${path}: cannot reshape ${formatShape(input)} (${size} elements) to ${formatShape(target)}`,
    );
  return out;
}

export const reshapeOp: OpDef<'reshape'> = {
  name: 'reshape',
  arity: [1, 1],
  attrs: { shape: { kind: 'ints' } },
  inferShapes: (shapes, attrs, ctx) => [resolveReshape(shapes[0]!, attrs.shape, ctx.path)],
  params: () => [],
  macs: () => 0,
  reference({ inputs, attrs }) {
    const x = inputs[0]!;
    return [
      {
        shape: resolveReshape(x.shape, attrs.shape, 'reshape'),
        data: x.data.slice(),
      },
    ];
  },
  grad: (node, [dy], g) => ({
    inputs: [dy && g.op('reshape', [dy], { shape: [...g.tensor(node.inputs[0]!).shape] })[0]],
  }),
};

export const flattenOp: OpDef<'flatten'> = {
  name: 'flatten',
  arity: [1, 1],
  attrs: { axis: { kind: 'int', default: 1 } },
  inferShapes(shapes, attrs, ctx) {
    const x = shapes[0]!;
    const axis = attrs.axis;
    if (axis < 0 || axis > x.length)
      throw new ShapeError(`${ctx.path}: flatten axis ${axis} out of range for ${formatShape(x)}`);
    return [[shapeSize(x.slice(0, axis)), shapeSize(x.slice(axis))]];
  },
  params: () => [],
  macs: () => 0,
  reference({ inputs, attrs }) {
    const x = inputs[0]!;
    const axis = attrs.axis;
    return [
      { shape: [shapeSize(x.shape.slice(0, axis)), shapeSize(x.shape.slice(axis))], data: x.data.slice() },
    ];
  },
  grad: (node, [dy], g) => ({
    inputs: [dy && g.op('reshape', [dy], { shape: [...g.tensor(node.inputs[0]!).shape] })[0]],
  }),
};

function checkPerm(perm: readonly number[], rank: number, path: string): void {
  const seen = new Set(perm);
  if (perm.length !== rank || seen.size !== rank || perm.some((p) => p < 0 || p >= rank)) {
    throw new GraphError(`${path}: transpose perm ${formatShape(perm)} is not a permutation of ${rank} axes`);
  }
}

export const transposeOp: OpDef<'transpose'> = {
  name: 'transpose',
  arity: [1, 1],
  attrs: { perm: { kind: 'ints' } },
  inferShapes(shapes, attrs, ctx) {
    const x = shapes[0]!;
    const perm = attrs.perm;
    checkPerm(perm, x.length, ctx.path);
    return [perm.map((p) => x[p]!)];
  },
  params: () => [],
  macs: () => 0,
  reference({ inputs, attrs }) {
    const x = inputs[0]!;
    const perm = attrs.perm;
    const shape = perm.map((p) => x.shape[p]!);
    const inStrides = stridesOf(x.shape);
    const permStrides = perm.map((p) => inStrides[p]!);
    const outStrides = stridesOf(shape);
    const out = new Float32Array(x.data.length);
    for (let i = 0; i < out.length; i++) {
      let rem = i;
      let src = 0;
      for (let k = 0; k < shape.length; k++) {
        const q = Math.floor(rem / outStrides[k]!);
        rem -= q * outStrides[k]!;
        src += q * permStrides[k]!;
      }
      out[i] = x.data[src]!;
    }
    return [{ shape, data: out }];
  },
  grad(node, [dy], g) {
    if (!dy) return { inputs: [undefined] };
    const perm = node.attrs.perm;
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return { inputs: [g.op('transpose', [dy], { perm: inverse })[0]] };
  },
};
