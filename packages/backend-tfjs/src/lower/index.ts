import {
  blurPadding,
  type ForwardOpName,
  InternalError,
  type NodeOf,
  type OpTable,
  resolveReshape,
  UnsupportedError,
} from '@cardinal/core';
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
  /** Uniforms in [0, 1) for DropPath and DropBlock masks (training only; seeded by the trainer). */
  noise?: (() => number) | undefined;
  /** Whether the gradient reaches the node's first input (not so for a graph input). */
  needsInputGrad: boolean;
  /** PyTorch's average-pool divisors for an input size, made once per node and size. */
  divisors(node: NodeOf<'avgPool'>, h: number, w: number): TF.Tensor;
}

const nhwc = (t: TF.Tensor): Value => ({ t, nhwc: true });
/** The same layout as the input: elementwise ops keep NHWC where it came in. */
const same = (x: Value, t: TF.Tensor): Value => ({ t, nhwc: x.nhwc });

function batchNorm(node: NodeOf<'batchNorm'>, { tf, args, prep, training, stats }: ApplyContext): Value[] {
  const x = args[0]!;
  const axes = x.nhwc ? [0, 1, 2] : [0, ...Array.from({ length: x.t.rank - 2 }, (_, i) => i + 2)];
  if (!training) {
    // Channels last (NHWC, or [N, C]) broadcast as they are; [N, C, ...] needs [C, 1, ...].
    const perChannel = (t: TF.Tensor) =>
      x.nhwc || x.t.rank === 2 ? t : t.reshape([t.size, ...Array(x.t.rank - 2).fill(1)]);
    return [same(x, tf.add(tf.mul(x.t, perChannel(prep.scale!)), perChannel(prep.shift!)))];
  }
  if (!x.nhwc && x.t.rank !== 2)
    throw new UnsupportedError(
      `${node.path}: training a batchNorm on a ${x.t.rank}-D tensor is not supported by the tfjs backend`,
    );
  const { mean, variance } = tf.moments(x.t, axes);
  stats?.set(node.name, { mean, variance, count: x.t.size / x.t.shape[x.t.rank - 1]! });
  const normed = tf.div(tf.sub(x.t, mean), tf.sqrt(tf.add(variance, node.attrs.eps)));
  return [same(x, tf.add(tf.mul(normed, prep.gamma!), prep.beta!))];
}

function binary(node: NodeOf<'add' | 'mul' | 'sub' | 'div'>, { tf, args }: ApplyContext): Value[] {
  const [a, b] = [args[0]!, args[1]!];
  if (a.nhwc !== b.nhwc) throw new InternalError(`${node.path}: mixed layouts`);
  const f = { add: tf.add, mul: tf.mul, sub: tf.sub, div: tf.div }[node.op];
  return [same(a, f(a.t, b.t))];
}

/** A reduction: on NHWC values with kept axes the axes map; otherwise in the IR's layout. */
function reduce(node: NodeOf<'reduceMean' | 'reduceSum'>, { tf, args }: ApplyContext): Value[] {
  const x = args[0]!;
  const { axes, keepDims } = node.attrs;
  const f = node.op === 'reduceMean' ? tf.mean : tf.sum;
  if (x.nhwc && keepDims)
    return [
      same(
        x,
        f(
          x.t,
          axes.map((a) => mapAxis(x, a)),
          true,
        ),
      ),
    ];
  return [fromPlain(f(toPlain(x), axes, keepDims))];
}

/**
 * conv1d on [N, C, L] as a sum over taps of 2-D matmuls: y[:, :, p] = sum_k W_k x[:, :, p*s + k*d].
 * Built from slice, transpose and matMul only, whose gradients every tfjs runtime has (wasm has
 * no Conv2DBackpropFilter, which tf.conv1d's gradient needs). ECA's conv is tiny: one channel,
 * a few taps.
 */
function conv1d(node: NodeOf<'conv1d'>, { tf, args, prep }: ApplyContext): Value[] {
  const a = node.attrs;
  if (a.groups !== 1)
    throw new UnsupportedError(
      `${node.path}: the tfjs backend runs conv1d with groups 1 only, got ${a.groups}`,
    );
  if (a.stride !== 1)
    throw new UnsupportedError(
      `${node.path}: the tfjs backend runs conv1d with stride 1 only, got ${a.stride}`,
    );
  const x = tf.pad(toPlain(args[0]!), [[0, 0], [0, 0], a.padding]);
  const [n, cin, padded] = x.shape as [number, number, number];
  const ol = padded - a.dilation * (a.kernel - 1);
  const cout = a.outChannels;
  let y: TF.Tensor | undefined;
  for (let k = 0; k < a.kernel; k++) {
    const tap = tf.slice(x, [0, 0, k * a.dilation], [n, cin, ol]);
    const rows = tf.reshape(tf.transpose(tap, [0, 2, 1]), [n * ol, cin]) as TF.Tensor2D;
    const wk = tf.reshape(tf.slice(prep.weightT!, [k, 0, 0], [1, cin, cout]), [cin, cout]) as TF.Tensor2D;
    const term = tf.matMul(rows, wk);
    y = y ? tf.add(y, term) : term;
  }
  if (prep.bias) y = tf.add(y!, prep.bias);
  return [fromPlain(tf.transpose(tf.reshape(y!, [n, ol, cout]), [0, 2, 1]))];
}

/** GroupNorm: NHWC split as [N, H, W, groups, C/groups], moments per sample and group. */
function groupNorm(node: NodeOf<'groupNorm'>, { tf, args, prep }: ApplyContext): Value[] {
  const x = args[0]!;
  const { groups, eps } = node.attrs;
  if (!x.nhwc) throw new UnsupportedError(`${node.path}: the tfjs backend runs groupNorm on 4-D maps only`);
  const [n, h, w, c] = x.t.shape as [number, number, number, number];
  const g = tf.reshape(x.t, [n, h, w, groups, c / groups]);
  const { mean, variance } = tf.moments(g, [1, 2, 4], true);
  const normed = tf.reshape(tf.div(tf.sub(g, mean), tf.sqrt(tf.add(variance, eps))), [n, h, w, c]);
  return [nhwc(tf.add(tf.mul(normed, prep.gamma!), prep.beta!))];
}

/** BlurPool2d: reflect padding, then the fixed binomial filter as a depthwise conv. */
function blurPool(node: NodeOf<'blurPool'>, { tf, args, prep }: ApplyContext): Value[] {
  const { filterSize, stride } = node.attrs;
  const p = blurPadding(filterSize, stride);
  const padded = tf.mirrorPad(
    args[0]!.t,
    [
      [0, 0],
      [p, p],
      [p, p],
      [0, 0],
    ],
    'reflect',
  ) as TF.Tensor4D;
  return [nhwc(tf.depthwiseConv2d(padded, prep.value as TF.Tensor4D, stride, 'valid'))];
}

/** timm's drop_path in training: a sample's branch kept with probability 1 - rate, scaled by 1 / keep. */
function dropPath(node: NodeOf<'dropPath'>, { tf, args, training, noise }: ApplyContext): Value[] {
  const x = args[0]!;
  const { rate } = node.attrs;
  if (!training || rate === 0 || !noise) return [x];
  const n = x.t.shape[0]!;
  const keep = 1 - rate;
  const mask = Float32Array.from({ length: n }, () => (noise() < keep ? 1 / keep : 0));
  return [same(x, tf.mul(x.t, tf.tensor(mask, [n, ...Array(x.t.rank - 1).fill(1)])))];
}

/**
 * timm's drop_block_2d in training (one mask shared by the channels): seeds at rate gamma,
 * grown to blocks by a stride-1 max pool, the kept values rescaled by numel / kept.
 */
function dropBlock(node: NodeOf<'dropBlock'>, { tf, args, training, noise }: ApplyContext): Value[] {
  const x = args[0]!;
  const { rate, blockSize, gammaScale } = node.attrs;
  if (!training || rate === 0 || !noise) return [x];
  if (!x.nhwc) throw new UnsupportedError(`${node.path}: dropBlock needs a 4-D map`);
  const [n, h, w] = x.t.shape as [number, number, number, number];
  const mask = dropBlockMask(n, h, w, rate, blockSize, gammaScale, noise);
  return [same(x, tf.mul(x.t, tf.tensor(mask, [n, h, w, 1])))];
}

/** The keep mask of drop_block_2d for [N, 1, H, W], scaled, in N, H, W order. */
export function dropBlockMask(
  n: number,
  h: number,
  w: number,
  rate: number,
  blockSize: number,
  gammaScale: number,
  noise: () => number,
): Float32Array {
  const kh = Math.min(blockSize, h);
  const kw = Math.min(blockSize, w);
  const gamma = (gammaScale * rate * h * w) / (kh * kw) / ((h - kh + 1) * (w - kw + 1));
  const seeds = Float32Array.from({ length: n * h * w }, () => (noise() < gamma ? 1 : 0));
  // max_pool2d(kernel k, stride 1, padding k // 2); an even k gives one more row and column,
  // of which timm drops the first.
  const [oh, ow] = [kh % 2 ? 0 : 1, kw % 2 ? 0 : 1];
  const keep = new Float32Array(n * h * w);
  let kept = 0;
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let xo = 0; xo < w; xo++) {
        let m = 0;
        for (let i = 0; i < kh && !m; i++)
          for (let j = 0; j < kw && !m; j++) {
            const iy = y + oh + i - Math.floor(kh / 2);
            const ix = xo + ow + j - Math.floor(kw / 2);
            if (iy >= 0 && iy < h && ix >= 0 && ix < w && seeds[(b * h + iy) * w + ix]) m = 1;
          }
        keep[(b * h + y) * w + xo] = 1 - m;
        kept += 1 - m;
      }
  const scale = keep.length / (kept + 1e-7);
  for (let i = 0; i < keep.length; i++) keep[i]! *= scale;
  return keep;
}

/** One function per IR op: the tfjs calls that compute it (NHWC where the op is spatial). */
export const APPLY: OpTable<[ApplyContext], Value[], ForwardOpName> = {
  conv2d: (node, { tf, args, prep, plan, training, needsInputGrad }) => [
    nhwc(
      applyConv(
        tf,
        args[0]!.t as TF.Tensor4D,
        prep.filter!,
        prep.bias,
        prep.convAttrs ?? node.attrs,
        plan!,
        training,
        needsInputGrad,
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
  sub: binary,
  div: binary,
  leakyRelu: (node, { tf, args }) => [same(args[0]!, tf.leakyRelu(args[0]!.t, node.attrs.alpha))],
  hardSigmoid: (node, { tf, args }) => {
    const { alpha, beta } = node.attrs;
    return [same(args[0]!, tf.clipByValue(tf.add(tf.mul(args[0]!.t, alpha), beta), 0, 1))];
  },
  hardSwish: (_, { tf, args }) => {
    const x = args[0]!.t;
    return [same(args[0]!, tf.div(tf.mul(x, tf.clipByValue(tf.add(x, 3), 0, 6)), 6))];
  },
  clip: (node, { tf, args }) => [same(args[0]!, tf.clipByValue(args[0]!.t, node.attrs.min, node.attrs.max))],
  globalMaxPool: (_, { tf, args }) => [nhwc(tf.max(args[0]!.t, [1, 2], true))],
  reduceMean: reduce,
  reduceSum: reduce,
  matMul: (_, { tf, args }) => [fromPlain(tf.matMul(toPlain(args[0]!), toPlain(args[1]!)))],
  pad: (node, { tf, args }) => {
    const { pads, value } = node.attrs;
    const r = pads.length / 2;
    const plain = Array.from({ length: r }, (_, i): [number, number] => [pads[i]!, pads[i + r]!]);
    return [fromPlain(tf.pad(toPlain(args[0]!), plain, value))];
  },
  // A clone: the value is the model's, and what a run returns is the caller's to dispose.
  constant: (_, { tf, prep }) => [fromPlain(tf.clone(prep.value!))],
  conv1d,
  groupNorm,
  blurPool,
  dropPath,
  dropBlock,
  linear: (_, { tf, args, prep }) => {
    const y = tf.matMul(args[0]!.t as TF.Tensor2D, prep.weightT as TF.Tensor2D);
    return [{ t: prep.bias ? tf.add(y, prep.bias) : y, nhwc: false }];
  },
};
