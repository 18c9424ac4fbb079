import type { Conv2dAttrs } from '@cardinal/core';
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../runtime.js';
import { trainableConv2d, trainableDepthwise } from './conv-grad.js';

/**
 * How a convolution runs on tfjs, which has no grouped convolution:
 * - `dense`: groups = 1, one tf.conv2d.
 * - `depthwise`: one input channel per group, tf.depthwiseConv2d with a channel multiplier.
 * - `expand`: any grouping, as a depthwise conv whose multiplier is the group's output width
 *   (each input channel makes its contribution to every output of its group) followed by a sum
 *   over the group's inputs. Same MACs as the grouped conv, two ops whatever the group count.
 * - `blockdiag`: groups packed `pack` at a time into dense convs with block-diagonal filters
 *   (pack times the MACs, groups / pack convs).
 * - `gemm`: im2col by kernel taps (shifted views of the padded input), then one batched matMul
 *   with a [groups, taps x group inputs, group outputs] filter. Best where maps are small and
 *   groups wide.
 * - `slices`: the naive lowering, one conv per group, then a concat.
 */
import type { ConvStrategy } from './conv-strategy.js';

export type { ConvStrategy };

export interface ConvPlan {
  strategy: ConvStrategy;
  /** Groups per dense conv, for `blockdiag`. */
  pack: number;
}

/**
 * The rule, from `pnpm bench --suite tfjs` on the ResNeXt-50 stage shapes: dense when
 * ungrouped; depthwise with one input channel per group; `expand` on maps of 14x14 and up
 * (5-8x faster than slicing at 56x56 and 28x28); on smaller maps, where its wide intermediate
 * costs more than it saves, `blockdiag`; `slices` when a group is too wide for either.
 */
export function planConv(
  a: Conv2dAttrs,
  inChannels: number,
  force?: ConvStrategy,
  spatial = Number.POSITIVE_INFINITY,
): ConvPlan {
  const g = a.groups;
  const cinG = inChannels / g;
  if (force && force !== 'dense' && g > 1)
    return { strategy: force, pack: force === 'blockdiag' ? packSize(g, cinG) : 1 };
  if (g === 1) return { strategy: 'dense', pack: 1 };
  if (cinG === 1) return { strategy: 'depthwise', pack: 1 };
  if (spatial >= 14 * 14 && cinG <= 64) return { strategy: 'expand', pack: 1 };
  const pack = packSize(g, cinG);
  return pack > 1 ? { strategy: 'blockdiag', pack } : { strategy: 'slices', pack: 1 };
}

function packSize(groups: number, cinG: number): number {
  let p = 1;
  while (p * 2 <= groups && groups % (p * 2) === 0 && p * 2 * cinG <= 64) p *= 2;
  return p;
}

/** The filter in the form the strategy consumes, made from PyTorch's OIHW weight (differentiable). */
export type PreparedFilter = TF.Tensor | TF.Tensor[];

export function prepareFilter(tf: Tf, w: TF.Tensor, a: Conv2dAttrs, plan: ConvPlan): PreparedFilter {
  const [o, cinG, kh, kw] = w.shape as [number, number, number, number];
  const g = a.groups;
  const coutG = o / g;
  switch (plan.strategy) {
    case 'dense':
      return w.transpose([2, 3, 1, 0]);
    case 'depthwise':
      // [O, 1, kh, kw] with O = C * mult -> [kh, kw, C, mult]
      return w.reshape([g, coutG, kh, kw]).transpose([2, 3, 0, 1]);
    case 'expand':
      // [g, coutG, cinG, kh, kw] -> [kh, kw, g, cinG, coutG] -> [kh, kw, C, coutG]
      return w
        .reshape([g, coutG, cinG, kh, kw])
        .transpose([3, 4, 0, 2, 1])
        .reshape([kh, kw, g * cinG, coutG]);
    case 'gemm':
      // [g, coutG, cinG, kh, kw] -> [g, kh, kw, cinG, coutG] -> [g, kh * kw * cinG, coutG]
      return w
        .reshape([g, coutG, cinG, kh, kw])
        .transpose([0, 3, 4, 2, 1])
        .reshape([g, kh * kw * cinG, coutG]);
    case 'slices':
      return tf.split(w, g, 0).map((wi) => wi.transpose([2, 3, 1, 0]));
    case 'blockdiag': {
      const p = plan.pack;
      const perGroup = tf.split(w, g, 0).map((wi) => wi.transpose([2, 3, 1, 0])); // [kh, kw, cinG, coutG]
      const packs: TF.Tensor[] = [];
      for (let k = 0; k < g / p; k++) {
        const cols = Array.from({ length: p }, (_, j) =>
          tf.pad(perGroup[k * p + j]!, [
            [0, 0],
            [0, 0],
            [j * cinG, (p - 1 - j) * cinG],
            [0, 0],
          ]),
        );
        packs.push(tf.concat(cols, 3));
      }
      return packs;
    }
  }
}

export type Pad = [[number, number], [number, number], [number, number], [number, number]];

function explicitPad(a: Conv2dAttrs): Pad {
  return [
    [0, 0],
    [a.padding[0], a.padding[2]],
    [a.padding[1], a.padding[3]],
    [0, 0],
  ];
}

/**
 * Runs a conv whose stride and dilation may both exceed 1 (tfjs refuses that): at stride 1,
 * then every stride-th row and column, which is exactly the strided result.
 */
function strided(
  tf: Tf,
  x: TF.Tensor4D,
  a: Conv2dAttrs,
  op: (x: TF.Tensor4D, strides: [number, number]) => TF.Tensor4D,
): TF.Tensor4D {
  const dilated = a.dilation[0] > 1 || a.dilation[1] > 1;
  const strides = a.stride[0] > 1 || a.stride[1] > 1;
  if (!(dilated && strides)) return op(x, a.stride);
  const y = op(x, [1, 1]);
  const [n, h, w, c] = y.shape;
  return tf.stridedSlice(y, [0, 0, 0, 0], [n, h, w, c], [1, a.stride[0], a.stride[1], 1]) as TF.Tensor4D;
}

export function applyConv(
  tf: Tf,
  x: TF.Tensor4D,
  f: PreparedFilter,
  bias: TF.Tensor | undefined,
  a: Conv2dAttrs,
  plan: ConvPlan,
  training = false,
  needsInputGrad = true,
): TF.Tensor4D {
  const pad = explicitPad(a);
  const dil = a.dilation;
  const fastGrad = training && dil[0] === 1 && dil[1] === 1;
  const conv2d = (xi: TF.Tensor4D, fi: TF.Tensor4D, s: [number, number]) =>
    fastGrad ? trainableConv2d(tf, xi, fi, s, pad, needsInputGrad) : tf.conv2d(xi, fi, s, pad, 'NHWC', dil);
  const depthwise = (xi: TF.Tensor4D, fi: TF.Tensor4D, s: [number, number]) =>
    fastGrad
      ? trainableDepthwise(tf, xi, fi, s, pad, needsInputGrad)
      : tf.depthwiseConv2d(xi, fi, s, pad, 'NHWC', dil);
  let y: TF.Tensor4D;
  switch (plan.strategy) {
    case 'dense':
      y = strided(tf, x, a, (xi, s) => conv2d(xi, f as TF.Tensor4D, s));
      break;
    case 'depthwise':
      y = strided(tf, x, a, (xi, s) => depthwise(xi, f as TF.Tensor4D, s));
      break;
    case 'expand': {
      const d = strided(tf, x, a, (xi, s) => depthwise(xi, f as TF.Tensor4D, s));
      const [n, h, w] = d.shape;
      const g = a.groups;
      const coutG = a.outChannels / g;
      const cinG = x.shape[3] / g;
      y = d.reshape([n, h, w, g, cinG, coutG]).sum(4).reshape([n, h, w, a.outChannels]);
      break;
    }
    case 'gemm':
      y = groupedGemm(tf, x, f as TF.Tensor3D, a);
      break;
    case 'slices':
    case 'blockdiag': {
      const filters = f as TF.Tensor4D[];
      // One pack needs no split (and tfjs's gradient of a one-way split is broken).
      const parts = filters.length === 1 ? [x] : (tf.split(x, filters.length, 3) as TF.Tensor4D[]);
      const outs = parts.map((xi, i) => strided(tf, xi, a, (xs, s) => conv2d(xs, filters[i]!, s)));
      y = outs.length === 1 ? outs[0]! : tf.concat(outs, 3);
      break;
    }
  }
  return bias ? tf.add(y, bias) : y;
}

/**
 * A dilated filter as an ordinary one: zeros between the taps, along the two spatial axes
 * (HW first, as every prepared layout here is). tfjs has no gradient for dilated convolutions,
 * so training runs them this way; the result is the same convolution.
 */
export function dilateFilter(tf: Tf, f: TF.Tensor, dilation: [number, number]): TF.Tensor {
  let out = f;
  for (const axis of [0, 1] as const) {
    const d = dilation[axis];
    if (d === 1) continue;
    const k = out.shape[axis]!;
    const zerosShape = [...out.shape];
    zerosShape.splice(axis + 1, 0, d - 1);
    const withGaps = tf.concat([out.expandDims(axis + 1), tf.zeros(zerosShape)], axis + 1);
    const merged = [...out.shape];
    merged[axis] = k * d;
    out = tf.slice(
      withGaps.reshape(merged),
      0,
      out.shape.map((s, i) => (i === axis ? (k - 1) * d + 1 : s)),
    );
  }
  return out;
}

/** The attrs and filter a training step uses: dilation folded into the filter. */
export function undilated(
  tf: Tf,
  f: PreparedFilter,
  a: Conv2dAttrs,
): { filter: PreparedFilter; attrs: Conv2dAttrs } {
  if (a.dilation[0] === 1 && a.dilation[1] === 1) return { filter: f, attrs: a };
  const filter = Array.isArray(f)
    ? f.map((x) => dilateFilter(tf, x, a.dilation))
    : dilateFilter(tf, f, a.dilation);
  const kernel: [number, number] = [
    (a.kernel[0] - 1) * a.dilation[0] + 1,
    (a.kernel[1] - 1) * a.dilation[1] + 1,
  ];
  return { filter, attrs: { ...a, kernel, dilation: [1, 1] } };
}

/**
 * Grouped convolution as im2col + batched matMul. Each kernel tap is a (strided) view of the
 * padded input; striding is done by reshape and slice so that the lowering stays
 * differentiable on every tfjs backend.
 */
function groupedGemm(tf: Tf, x: TF.Tensor4D, f: TF.Tensor3D, a: Conv2dAttrs): TF.Tensor4D {
  const [n, h, w, c] = x.shape;
  const g = a.groups;
  const cinG = c / g;
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.stride;
  const [dh, dw] = a.dilation;
  const oh = Math.floor((h + a.padding[0] + a.padding[2] - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + a.padding[1] + a.padding[3] - dw * (kw - 1) - 1) / sw) + 1;
  // Room at the end so every tap can take oh * sh rows before keeping every sh-th.
  const extraH = Math.max(0, (kh - 1) * dh + oh * sh - (h + a.padding[0] + a.padding[2]));
  const extraW = Math.max(0, (kw - 1) * dw + ow * sw - (w + a.padding[1] + a.padding[3]));
  const xp = tf.pad(x, [
    [0, 0],
    [a.padding[0], a.padding[2] + extraH],
    [a.padding[1], a.padding[3] + extraW],
    [0, 0],
  ]);
  const taps: TF.Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      let t: TF.Tensor = tf.slice(xp, [0, i * dh, j * dw, 0], [n, oh * sh, ow * sw, c]);
      if (sh > 1 || sw > 1)
        t = tf.slice(t.reshape([n, oh, sh, ow, sw, c]), [0, 0, 0, 0, 0, 0], [n, oh, 1, ow, 1, c]);
      taps.push(t.reshape([n * oh * ow, 1, g, cinG]));
    }
  }
  const cols = tf
    .concat(taps, 1)
    .transpose([2, 0, 1, 3])
    .reshape([g, n * oh * ow, kh * kw * cinG]);
  const y = tf.matMul(cols as TF.Tensor3D, f);
  return y.transpose([1, 0, 2]).reshape([n, oh, ow, a.outChannels]) as TF.Tensor4D;
}
