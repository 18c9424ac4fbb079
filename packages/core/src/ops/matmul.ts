import { formatShape, ShapeError } from '../errors.js';
import { shapeSize, stridesOf } from '../tensor.js';
import { NO_ATTRS } from './attrs.js';
import type { OpDef } from './op-def.js';

/** [..., M, K] x [..., K, N] -> [..., M, N]; the batch axes (same rank) broadcast as NumPy's. */
export function matMulShape(a: readonly number[], b: readonly number[], path: string): number[] {
  const bad = (why: string): never => {
    throw new ShapeError(`${path}: matMul of ${formatShape(a)} and ${formatShape(b)}: ${why}`);
  };
  if (a.length < 2 || a.length !== b.length) bad('needs two inputs of the same rank >= 2');
  const r = a.length;
  if (a[r - 1] !== b[r - 2]) bad(`inner dimensions ${a[r - 1]} and ${b[r - 2]} differ`);
  const batch = a.slice(0, r - 2).map((d, i) => {
    const e = b[i]!;
    if (d !== e && d !== 1 && e !== 1) bad(`batch axis ${i}: ${d} vs ${e}`);
    return d === 1 ? e : d;
  });
  return [...batch, a[r - 2]!, b[r - 1]!];
}

export const matMulOp: OpDef<'matMul'> = {
  name: 'matMul',
  arity: [2, 2],
  attrs: NO_ATTRS,
  inferShapes: (shapes, _attrs, ctx) => [matMulShape(shapes[0]!, shapes[1]!, ctx.path)],
  params: () => [],
  macs: (shapes, outShapes) => shapeSize(outShapes[0]!) * shapes[0]![shapes[0]!.length - 1]!,
  reference({ inputs }) {
    const [a, b] = [inputs[0]!, inputs[1]!];
    const shape = matMulShape(a.shape, b.shape, 'matMul');
    const r = shape.length;
    const [m, k, n] = [a.shape[r - 2]!, a.shape[r - 1]!, b.shape[r - 1]!];
    const batch = shape.slice(0, r - 2);
    const batchStrides = stridesOf(batch);
    // Batch strides in units of whole matrices, zero where an input's batch axis is 1.
    const aStr = stridesOf(a.shape.slice(0, r - 2)).map((s, i) => (a.shape[i] === 1 ? 0 : s));
    const bStr = stridesOf(b.shape.slice(0, r - 2)).map((s, i) => (b.shape[i] === 1 ? 0 : s));
    const out = new Float32Array(shapeSize(shape));
    for (let p = 0; p < shapeSize(batch); p++) {
      let [ia, ib, rem] = [0, 0, p];
      for (let i = 0; i < batch.length; i++) {
        const q = Math.floor(rem / batchStrides[i]!);
        rem -= q * batchStrides[i]!;
        ia += q * aStr[i]!;
        ib += q * bStr[i]!;
      }
      const [ao, bo, oo] = [ia * m * k, ib * k * n, p * m * n];
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let t = 0; t < k; t++) s += a.data[ao + i * k + t]! * b.data[bo + t * n + j]!;
          out[oo + i * n + j] = s;
        }
    }
    return [{ shape, data: out }];
  },
  // da = dy b^T, db = a^T dy (last two axes swapped), each summed over its broadcast batch axes.
  grad(node, [dy], g) {
    if (!dy) return { inputs: [undefined, undefined] };
    const a = g.tensor(node.inputs[0]!);
    const b = g.tensor(node.inputs[1]!);
    const r = a.shape.length;
    const perm = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
    const t = (x: typeof a) => g.op('transpose', [x], { perm })[0]!;
    const da = g.op('matMul', [dy, t(b)], {})[0]!;
    const db = g.op('matMul', [t(a), dy], {})[0]!;
    return { inputs: [g.unbroadcast(da, a.shape), g.unbroadcast(db, b.shape)] };
  },
};
