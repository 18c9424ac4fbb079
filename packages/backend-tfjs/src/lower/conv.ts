import type { Conv2dAttrs } from '@cardinal/core';
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../runtime.js';

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

type Pad = [[number, number], [number, number], [number, number], [number, number]];

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

/**
 * tf.conv2d with a gradient made of fast ops, for training (dilation 1): the filter gradient
 * as one convolution, the input gradient by conv2dTranspose. tfjs's own filter gradient is very slow on its cpu backend and missing on wasm.
 */
function trainableConv2d(
  tf: Tf,
  x: TF.Tensor4D,
  f: TF.Tensor4D,
  strides: [number, number],
  pad: Pad,
  needsInputGrad: boolean,
): TF.Tensor4D {
  const conv = tf.customGrad((xi, fi, save) => {
    const xt = xi as TF.Tensor4D;
    const ft = fi as TF.Tensor4D;
    (save as TF.GradSaveFunc)([xt, ft]);
    return {
      value: tf.conv2d(xt, ft, strides, pad),
      gradFunc: (dy, saved) => {
        const [xs, fs] = saved as [TF.Tensor4D, TF.Tensor4D];
        const g = dy as TF.Tensor4D;
        const co = g.shape[3];
        const [kh, kw, ci] = fs.shape;
        // The network's input needs no gradient: its stem conv skips the (largest) input gradient.
        const dx = needsInputGrad ? inputGrad(tf, g, fs, xs.shape, strides, pad) : tf.zerosLike(xs);
        const df = filterGrad(tf, xs, g, [kh, kw, ci, co], strides, pad);
        return [dx, df];
      },
    };
  });
  return conv(x, f) as TF.Tensor4D;
}

/**
 * dW[i, j, c, o] = sum over n, y, x of xpad[n, y*s + i, x*s + j, c] * dy[n, y, x, o]: a
 * convolution of the input (channels as batch) with dy as the filter, the stride as its
 * dilation. (An im2col matrix product is slower on wasm: its strided slices and transposed
 * matMul cost more than this convolution.)
 */
function filterGrad(
  tf: Tf,
  x: TF.Tensor4D,
  dy: TF.Tensor4D,
  [kh, kw, ci, co]: [number, number, number, number],
  strides: [number, number],
  pad: Pad,
): TF.Tensor4D {
  const xT = x.transpose([3, 1, 2, 0]) as TF.Tensor4D;
  const dyT = dy.transpose([1, 2, 0, 3]) as TF.Tensor4D;
  const full = tf.conv2d(xT, dyT, 1, pad, 'NHWC', strides);
  return tf.slice(full, [0, 0, 0, 0], [ci, kh, kw, co]).transpose([1, 2, 0, 3]) as TF.Tensor4D;
}

/**
 * The input gradient of a stride-s convolution as an ordinary stride-1 convolution (which
 * every runtime runs fast; wasm's transposed convolution is several times slower): dy with s-1
 * zeros between its rows and columns, convolved with the filter rotated by 180 degrees and its
 * in/out channels swapped, padded k-1-p at the start and k-1-p+r at the end (r: the rows the
 * forward's stride left unread).
 */
function inputGrad(
  tf: Tf,
  dy: TF.Tensor4D,
  f: TF.Tensor4D,
  xShape: [number, number, number, number],
  strides: [number, number],
  pad: Pad,
  depthwise = false,
): TF.Tensor4D {
  const [kh, kw] = f.shape;
  const [n, oh, ow, co] = dy.shape;
  const [, h, w] = xShape;
  const [sh, sw] = strides;
  const [pt, pb] = pad[1];
  const [pl, pr] = pad[2];
  const rh = (h + pt + pb - kh) % sh;
  const rw = (w + pl + pr - kw) % sw;
  if (pt > kh - 1 || pl > kw - 1 || pb > kh - 1 + rh || pr > kw - 1 + rw) {
    if (depthwise)
      throw new Error(`depthwise training with padding past the kernel (${kh}x${kw}) is not supported`);
    return tf.conv2dTranspose(dy, f, xShape, strides, pad);
  }
  let spread: TF.Tensor4D = dy;
  if (sh > 1 || sw > 1) {
    const holes = tf.pad(dy.reshape([n, oh, 1, ow, 1, co]), [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]);
    spread = tf.slice(
      holes.reshape([n, oh * sh, ow * sw, co]),
      [0, 0, 0, 0],
      [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, co],
    ) as TF.Tensor4D;
  }
  const padding: Pad = [
    [0, 0],
    [kh - 1 - pt, kh - 1 - pb + rh],
    [kw - 1 - pl, kw - 1 - pr + rw],
    [0, 0],
  ];
  // A depthwise caller passes the filter already rotated, one output channel per input channel.
  if (depthwise) return tf.depthwiseConv2d(spread, f, 1, padding);
  const rotated = (kh === 1 && kw === 1 ? f : tf.reverse(f, [0, 1])).transpose([0, 1, 3, 2]) as TF.Tensor4D;
  return tf.conv2d(spread, rotated, 1, padding);
}

/**
 * tf.depthwiseConv2d (filter [kh, kw, C, m]) with a gradient made of ops every runtime has
 * (wasm has neither depthwise backprop kernel): the input gradient as a depthwise convolution
 * of the spread dy with the rotated filter, summed over the multiplier; the filter gradient as
 * a depthwise convolution of the input (batch moved into the channels) with dy as the filter,
 * the stride as its dilation, summed over the batch.
 */
function trainableDepthwise(
  tf: Tf,
  x: TF.Tensor4D,
  f: TF.Tensor4D,
  strides: [number, number],
  pad: Pad,
  needsInputGrad: boolean,
): TF.Tensor4D {
  const conv = tf.customGrad((xi, fi, save) => {
    const xt = xi as TF.Tensor4D;
    const ft = fi as TF.Tensor4D;
    (save as TF.GradSaveFunc)([xt, ft]);
    return {
      value: tf.depthwiseConv2d(xt, ft, strides, pad),
      gradFunc: (dy, saved) => {
        const [xs, fs] = saved as [TF.Tensor4D, TF.Tensor4D];
        const g = dy as TF.Tensor4D;
        const [kh, kw, c, m] = fs.shape;
        const [n, h, w] = xs.shape;
        const [, oh, ow] = g.shape;
        let dx: TF.Tensor4D;
        if (!needsInputGrad) dx = tf.zerosLike(xs);
        else {
          // Each of the C*m output channels back to its input channel, then the m summed.
          const rotated = tf.reverse(fs, [0, 1]).reshape([kh, kw, c * m, 1]) as TF.Tensor4D;
          const perOutput = inputGrad(tf, g, rotated, [n, h, w, c * m], strides, pad, true);
          dx = perOutput.reshape([n, h, w, c, m]).sum(4) as TF.Tensor4D;
        }
        const xT = xs.transpose([1, 2, 3, 0]).reshape([1, h, w, c * n]) as TF.Tensor4D;
        const dyT = g
          .reshape([n, oh, ow, c, m])
          .transpose([1, 2, 3, 0, 4])
          .reshape([oh, ow, c * n, m]) as TF.Tensor4D;
        const full = tf.depthwiseConv2d(xT, dyT, 1, pad, 'NHWC', strides);
        const [, fh, fw] = full.shape;
        const df = full.reshape([fh, fw, c, n, m]).sum(3).slice([0, 0, 0, 0], [kh, kw, c, m]) as TF.Tensor4D;
        return [dx, df];
      },
    };
  });
  return conv(x, f) as TF.Tensor4D;
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
