import { type NodeOf, type OpTable, resolveReshape } from '@cardinal/core';
import type * as TF from '@tensorflow/tfjs';
import { fromPlain, irShape, mapAxis, toPlain, type Value } from '../layout.js';
import type { BatchStats, NodePrep } from '../program.js';
import type { Tf } from '../runtime.js';
import { applyConv, type ConvPlan } from './conv.js';
import { avgPool, maxPool } from './pool.js';

/** What one node's tfjs calls need: its inputs, its prepared tensors, and the mode. */
export interface ApplyContext {
  tf: Tf;
  args: Value[];
  prep: NodePrep;
  training: boolean;
  /** Where a train-mode BatchNorm leaves the statistics it saw. */
  stats?: Map<string, BatchStats>;
  /** A conv2d node's plan (strategy and layout). */
  plan?: ConvPlan;
  /** PyTorch's average-pool divisors for an input size, made once per node and size. */
  divisors(node: NodeOf<'avgPool'>, h: number, w: number): TF.Tensor;
}

const nhwc = (t: TF.Tensor): Value => ({ t, nhwc: true });
/** The same layout as the input: elementwise ops keep NHWC where it came in. */
const same = (x: Value, t: TF.Tensor): Value => ({ t, nhwc: x.nhwc });

function batchNorm(node: NodeOf<'batchNorm'>, { tf, args, prep, training, stats }: ApplyContext): Value[] {
  const x = args[0]!;
  const axes = x.nhwc ? [0, 1, 2] : [0, ...Array.from({ length: x.t.rank - 2 }, (_, i) => i + 2)];
  if (!x.nhwc && x.t.rank !== 2)
    throw new Error(`${node.path}: batchNorm on a ${x.t.rank}-D tensor is not supported by the tfjs backend`);
  if (!training) return [same(x, tf.add(tf.mul(x.t, prep.scale!), prep.shift!))];
  const { mean, variance } = tf.moments(x.t, axes);
  stats?.set(node.name, { mean, variance, count: x.t.size / x.t.shape[x.t.rank - 1]! });
  const normed = tf.div(tf.sub(x.t, mean), tf.sqrt(tf.add(variance, node.attrs.eps)));
  return [same(x, tf.add(tf.mul(normed, prep.gamma!), prep.beta!))];
}

function binary(node: NodeOf<'add' | 'mul'>, { tf, args }: ApplyContext): Value[] {
  const [a, b] = [args[0]!, args[1]!];
  if (a.nhwc !== b.nhwc) throw new Error(`${node.path}: mixed layouts`);
  return [same(a, node.op === 'add' ? tf.add(a.t, b.t) : tf.mul(a.t, b.t))];
}

/** One function per IR op: the tfjs calls that compute it (NHWC where the op is spatial). */
export const APPLY: OpTable<[ApplyContext], Value[]> = {
  conv2d: (node, { tf, args, prep, plan, training }) => [
    nhwc(
      applyConv(
        tf,
        args[0]!.t as TF.Tensor4D,
        prep.filter!,
        prep.bias,
        prep.convAttrs ?? node.attrs,
        plan!,
        training,
      ),
    ),
  ],
  batchNorm,
  relu: (_, { tf, args }) => [same(args[0]!, tf.relu(args[0]!.t))],
  sigmoid: (_, { tf, args }) => [same(args[0]!, tf.sigmoid(args[0]!.t))],
  softmax: (node, { tf, args }) => {
    const x = args[0]!;
    const axis = mapAxis(x, node.attrs.axis);
    const e = tf.exp(tf.sub(x.t, tf.max(x.t, axis, true)));
    return [same(x, tf.div(e, tf.sum(e, axis, true)))];
  },
  add: binary,
  mul: binary,
  concat: (node, { tf, args }) => [
    same(
      args[0]!,
      tf.concat(
        args.map((v) => v.t),
        mapAxis(args[0]!, node.attrs.axis),
      ),
    ),
  ],
  split: (node, { tf, args }) =>
    tf.split(args[0]!.t, node.attrs.sizes, mapAxis(args[0]!, node.attrs.axis)).map((t) => same(args[0]!, t)),
  reshape: (node, { tf, args }) => [
    fromPlain(tf.reshape(toPlain(args[0]!), resolveReshape(irShape(args[0]!), node.attrs.shape, node.path))),
  ],
  flatten: (node, { tf, args }) => {
    const outer = irShape(args[0]!)
      .slice(0, node.attrs.axis)
      .reduce((m, d) => m * d, 1);
    return [{ t: tf.reshape(toPlain(args[0]!), [outer, -1]), nhwc: false }];
  },
  transpose: (node, { tf, args }) => [fromPlain(tf.transpose(toPlain(args[0]!), node.attrs.perm))],
  maxPool: (node, { tf, args }) => [nhwc(maxPool(tf, args[0]!.t as TF.Tensor4D, node.attrs))],
  avgPool: (node, { tf, args, divisors }) => {
    const [, h, w] = args[0]!.t.shape as number[];
    return [nhwc(avgPool(tf, args[0]!.t as TF.Tensor4D, node.attrs, divisors(node, h!, w!)))];
  },
  globalAvgPool: (_, { tf, args }) => [nhwc(tf.mean(args[0]!.t, [1, 2], true))],
  linear: (_, { tf, args, prep }) => {
    const y = tf.matMul(args[0]!.t as TF.Tensor2D, prep.weightT as TF.Tensor2D);
    return [{ t: prep.bias ? tf.add(y, prep.bias) : y, nhwc: false }];
  },
};
