import { UnsupportedError } from '@cardinal/core';
// Convolution gradients for training, made of forward convolutions. tfjs-backend-wasm has no
// Conv2DBackpropFilter and no depthwise backprop kernels, and its transposed convolution is
// several times slower than a forward one (XNNPACK); tfjs's own filter gradient is very slow on
// the pure-JS cpu backend. Every gradient here is a forward conv of the right operands.
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../runtime.js';
import type { Pad } from './conv.js';

type Grads = (dy: TF.Tensor4D, x: TF.Tensor4D, f: TF.Tensor4D) => [TF.Tensor4D, TF.Tensor4D];

/** `forward(x, f)` whose gradient with respect to x and f is `grads`. */
function withGradients(
  tf: Tf,
  x: TF.Tensor4D,
  f: TF.Tensor4D,
  forward: (x: TF.Tensor4D, f: TF.Tensor4D) => TF.Tensor4D,
  grads: Grads,
): TF.Tensor4D {
  const op = tf.customGrad((xi, fi, save) => {
    const [xt, ft] = [xi as TF.Tensor4D, fi as TF.Tensor4D];
    (save as TF.GradSaveFunc)([xt, ft]);
    return {
      value: forward(xt, ft),
      gradFunc: (dy, saved) => {
        const [xs, fs] = saved as [TF.Tensor4D, TF.Tensor4D];
        return grads(dy as TF.Tensor4D, xs, fs);
      },
    };
  });
  return op(x, f) as TF.Tensor4D;
}

/**
 * The input gradient of a stride-s convolution as a stride-1 one: dy with s-1 zeros between its
 * rows and columns, convolved with the filter rotated by 180 degrees and its in/out channels
 * swapped, padded k-1-p at the start and k-1-p+r at the end (r: the rows the forward's stride
 * left unread). `depthwise`: f is already rotated, one output channel per input channel.
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
      throw new UnsupportedError(
        `depthwise training with padding past the kernel (${kh}x${kw}) is not supported`,
      );
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
  if (depthwise) return tf.depthwiseConv2d(spread, f, 1, padding);
  const rotated = (kh === 1 && kw === 1 ? f : tf.reverse(f, [0, 1])).transpose([0, 1, 3, 2]) as TF.Tensor4D;
  return tf.conv2d(spread, rotated, 1, padding);
}

/** A convolution tfjs trains through, with its gradients written here (see each below). */
type TrainableConv = (
  tf: Tf,
  x: TF.Tensor4D,
  f: TF.Tensor4D,
  strides: [number, number],
  pad: Pad,
  needsInputGrad: boolean,
) => TF.Tensor4D;

/**
 * tf.conv2d (dilation 1) for training. dW[i, j, c, o] = sum over n, y, x of
 * xpad[n, y*s + i, x*s + j, c] * dy[n, y, x, o]: a convolution of the input (channels as batch)
 * with dy as the filter, the stride as its dilation (an im2col matMul is slower on wasm: its
 * strided slices and transposed matMul cost more). The network's input needs no gradient: a
 * conv reading it (the stem) skips its input gradient, the largest of all.
 */
export const trainableConv2d: TrainableConv = (tf, x, f, strides, pad, needsInputGrad) =>
  withGradients(
    tf,
    x,
    f,
    (xt, ft) => tf.conv2d(xt, ft, strides, pad),
    (dy, xs, fs) => {
      const [kh, kw, ci] = fs.shape;
      const dx = needsInputGrad ? inputGrad(tf, dy, fs, xs.shape, strides, pad) : tf.zerosLike(xs);
      const xT = xs.transpose([3, 1, 2, 0]) as TF.Tensor4D;
      const dyT = dy.transpose([1, 2, 0, 3]) as TF.Tensor4D;
      const full = tf.conv2d(xT, dyT, 1, pad, 'NHWC', strides);
      const df = tf
        .slice(full, [0, 0, 0, 0], [ci, kh, kw, dy.shape[3]])
        .transpose([1, 2, 0, 3]) as TF.Tensor4D;
      return [dx, df];
    },
  );

/**
 * tf.depthwiseConv2d (filter [kh, kw, C, m]) for training: the input gradient as a depthwise
 * convolution of the spread dy with the rotated filter, summed over the multiplier; the filter
 * gradient as a depthwise convolution of the input (batch moved into the channels) with dy as
 * the filter, the stride as its dilation, summed over the batch.
 */
export const trainableDepthwise: TrainableConv = (tf, x, f, strides, pad, needsInputGrad) =>
  withGradients(
    tf,
    x,
    f,
    (xt, ft) => tf.depthwiseConv2d(xt, ft, strides, pad),
    (dy, xs, fs) => {
      const [kh, kw, c, m] = fs.shape;
      const [n, h, w] = xs.shape;
      const [, oh, ow] = dy.shape;
      let dx: TF.Tensor4D;
      if (!needsInputGrad) dx = tf.zerosLike(xs);
      else {
        // Each of the C*m output channels back to its input channel, then the m summed.
        const rotated = tf.reverse(fs, [0, 1]).reshape([kh, kw, c * m, 1]) as TF.Tensor4D;
        const perOutput = inputGrad(tf, dy, rotated, [n, h, w, c * m], strides, pad, true);
        dx = perOutput.reshape([n, h, w, c, m]).sum(4) as TF.Tensor4D;
      }
      const xT = xs.transpose([1, 2, 3, 0]).reshape([1, h, w, c * n]) as TF.Tensor4D;
      const dyT = dy
        .reshape([n, oh, ow, c, m])
        .transpose([1, 2, 3, 0, 4])
        .reshape([oh, ow, c * n, m]) as TF.Tensor4D;
      const full = tf.depthwiseConv2d(xT, dyT, 1, pad, 'NHWC', strides);
      const [, fh, fw] = full.shape;
      const df = full.reshape([fh, fw, c, n, m]).sum(3).slice([0, 0, 0, 0], [kh, kw, c, m]) as TF.Tensor4D;
      return [dx, df];
    },
  );
