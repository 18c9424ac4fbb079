import { type PoolAttrs, poolOutLength, poolOutSize } from '@cardinal/core';
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../runtime.js';

/** Extra end padding so that ceil-mode windows fit, as PyTorch lets them run over the edge. */
function extraPad(
  size: number,
  k: number,
  s: number,
  pb: number,
  pe: number,
  d: number,
  ceil: boolean,
): { out: number; extra: number } {
  const out = poolOutLength(size, k, s, pb, pe, d, ceil);
  const needed = (out - 1) * s + d * (k - 1) + 1;
  return { out, extra: Math.max(0, needed - (size + pb + pe)) };
}

function subsample(tf: Tf, y: TF.Tensor4D, s: [number, number]): TF.Tensor4D {
  if (s[0] === 1 && s[1] === 1) return y;
  const [n, h, w, c] = y.shape;
  return tf.stridedSlice(y, [0, 0, 0, 0], [n, h, w, c], [1, s[0], s[1], 1]) as TF.Tensor4D;
}

/** Max pooling with padding that never wins (-inf) and PyTorch's ceil mode and dilation. */
export function maxPool(tf: Tf, x: TF.Tensor4D, a: PoolAttrs): TF.Tensor4D {
  const [, h, w] = x.shape;
  const eh = extraPad(h, a.kernel[0], a.stride[0], a.padding[0], a.padding[2], a.dilation[0], a.ceilMode);
  const ew = extraPad(w, a.kernel[1], a.stride[1], a.padding[1], a.padding[3], a.dilation[1], a.ceilMode);
  const padded = tf.pad(
    x,
    [
      [0, 0],
      [a.padding[0], a.padding[2] + eh.extra],
      [a.padding[1], a.padding[3] + ew.extra],
      [0, 0],
    ],
    Number.NEGATIVE_INFINITY,
  );
  let y: TF.Tensor4D;
  if (a.dilation[0] > 1 || a.dilation[1] > 1) {
    y = subsample(tf, tf.pool(padded, a.kernel, 'max', 'valid', a.dilation, 1) as TF.Tensor4D, a.stride);
  } else {
    y = tf.maxPool(padded, a.kernel, a.stride, 'valid');
  }
  return tf.slice(y, [0, 0, 0, 0], [-1, eh.out, ew.out, -1]);
}

/**
 * PyTorch's divisor for every output position: the window clipped to the padded extent
 * (count_include_pad) or to the input (otherwise). Exact, computed once per input size.
 */
export function avgDivisors(h: number, w: number, a: PoolAttrs): Float32Array {
  const [oh, ow] = poolOutSize(h, w, a);
  const out = new Float32Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const y0 = y * a.stride[0] - a.padding[0];
      const x0 = x * a.stride[1] - a.padding[1];
      const y1 = Math.min(y0 + a.kernel[0], h + a.padding[2]);
      const x1 = Math.min(x0 + a.kernel[1], w + a.padding[3]);
      const clipped = (Math.min(y1, h) - Math.max(y0, 0)) * (Math.min(x1, w) - Math.max(x0, 0));
      out[y * ow + x] = a.countIncludePad ? (y1 - y0) * (x1 - x0) : clipped;
    }
  }
  return out;
}

/** Average pooling as a zero-padded window sum divided by PyTorch's divisor. */
export function avgPool(tf: Tf, x: TF.Tensor4D, a: PoolAttrs, divisors: TF.Tensor): TF.Tensor4D {
  const [, h, w] = x.shape;
  const eh = extraPad(h, a.kernel[0], a.stride[0], a.padding[0], a.padding[2], 1, a.ceilMode);
  const ew = extraPad(w, a.kernel[1], a.stride[1], a.padding[1], a.padding[3], 1, a.ceilMode);
  const padded = tf.pad(x, [
    [0, 0],
    [a.padding[0], a.padding[2] + eh.extra],
    [a.padding[1], a.padding[3] + ew.extra],
    [0, 0],
  ]);
  const mean = tf.slice(
    tf.avgPool(padded, a.kernel, a.stride, 'valid'),
    [0, 0, 0, 0],
    [-1, eh.out, ew.out, -1],
  );
  return tf.div(tf.mul(mean, a.kernel[0] * a.kernel[1]), divisors) as TF.Tensor4D;
}
