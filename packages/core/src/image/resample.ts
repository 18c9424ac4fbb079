/**
 * Image resizing that gives the same bytes as Pillow's `Image.resize` on 8-bit images (what
 * torchvision's `Resize` calls on a PIL image): separable convolution with the filter widened by
 * the scale when shrinking (antialiasing), coefficients normalised and rounded to 22-bit fixed
 * point, a horizontal pass into an 8-bit intermediate, then a vertical pass, each value rounded
 * and clipped to 0..255. NEAREST is Pillow's affine nearest-neighbour mapping.
 */

/** An 8-bit image, interleaved: `channels` bytes per pixel, rows top to bottom. */
export interface Image8 {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

export type Interpolation = 'nearest' | 'bilinear' | 'bicubic';

interface Filter {
  support: number;
  weight(x: number): number;
}

const FILTERS: Record<Exclude<Interpolation, 'nearest'>, Filter> = {
  bilinear: {
    support: 1,
    weight: (x) => {
      const a = Math.abs(x);
      return a < 1 ? 1 - a : 0;
    },
  },
  bicubic: {
    support: 2,
    // Keys' cubic with a = -0.5, as Pillow.
    weight: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
};

const PRECISION_BITS = 32 - 8 - 2;

type Coefficients = { ksize: number; bounds: Int32Array; kk: Int32Array };
/** Recent coefficient tables: a batch of photos of one size computes them once. */
const recent = new Map<string, Coefficients>();

/** Per output position: the first input index, the count, and fixed-point weights (a copy: callers shift bounds). */
function coefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const key = `${inSize}:${outSize}:${filter.support}`;
  let c = recent.get(key);
  if (!c) {
    c = computeCoefficients(inSize, outSize, filter);
    if (recent.size >= 16) recent.delete(recent.keys().next().value!);
    recent.set(key, c);
  }
  return { ksize: c.ksize, bounds: c.bounds.slice(), kk: c.kk };
}

function computeCoefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = filter.weight((x + xmin - center + 0.5) / filterScale);
      ww += w[x]!;
    }
    for (let x = 0; x < xmax; x++) {
      const k = ww !== 0 ? w[x]! / ww : w[x]!;
      kk[xx * ksize + x] =
        k < 0 ? Math.trunc(-0.5 + k * (1 << PRECISION_BITS)) : Math.trunc(0.5 + k * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

const clip8 = (v: number) => (v >= 1 << (PRECISION_BITS + 8) ? 255 : v <= 0 ? 0 : v >> PRECISION_BITS);

/** A rectangle of the output image: x, y, width, height. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * The horizontal pass over `rows` input rows from `yFirst`, for output columns box.x ..
 * box.x + box.w: each output pixel a weighted sum along its row.
 */
function horizontalPass(
  img: Image8,
  width: number,
  box: Box,
  yFirst: number,
  rows: number,
  filter: Filter,
): Uint8Array {
  const c = img.channels;
  const { kk, bounds, ksize } = coefficients(img.width, width, filter);
  const out = new Uint8Array(box.w * rows * c);
  const src = img.data;
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < rows; y++) {
    const row = (y + yFirst) * img.width * c;
    for (let i = 0; i < box.w; i++) {
      const xx = i + box.x;
      const xmin = bounds[xx * 2]!;
      const xmax = bounds[xx * 2 + 1]!;
      const k = xx * ksize;
      const o = (y * box.w + i) * c;
      if (c === 3) {
        // The common case unrolled: one pass over the taps for all three channels.
        let s0 = half;
        let s1 = half;
        let s2 = half;
        let p = row + xmin * 3;
        for (let x = 0; x < xmax; x++, p += 3) {
          const w = kk[k + x]!;
          // int32 arithmetic, as Pillow's C ints: the sums stay below 2^31 by construction.
          s0 = (s0 + Math.imul(src[p]!, w)) | 0;
          s1 = (s1 + Math.imul(src[p + 1]!, w)) | 0;
          s2 = (s2 + Math.imul(src[p + 2]!, w)) | 0;
        }
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
      } else {
        for (let ch = 0; ch < c; ch++) {
          let ss = half;
          for (let x = 0; x < xmax; x++)
            ss = (ss + Math.imul(src[row + (x + xmin) * c + ch]!, kk[k + x]!)) | 0;
          out[o + ch] = clip8(ss);
        }
      }
    }
  }
  return out;
}

/**
 * The vertical pass for output rows box.y .. box.y + box.h: each a weighted sum of input rows,
 * accumulated row by row so memory is read in order (exact int32 sums, as Pillow's).
 */
function verticalPass(cur: Image8, box: Box, v: Coefficients): Uint8Array {
  const stride = cur.width * cur.channels;
  const out = new Uint8Array(stride * box.h);
  const acc = new Int32Array(stride);
  const src = cur.data;
  const half = 1 << (PRECISION_BITS - 1);
  for (let i = 0; i < box.h; i++) {
    const yy = i + box.y;
    const ymin = v.bounds[yy * 2]!;
    const ymax = v.bounds[yy * 2 + 1]!;
    const k = yy * v.ksize;
    acc.fill(half);
    for (let y = 0; y < ymax; y++) {
      const w = v.kk[k + y]!;
      const row = (y + ymin) * stride;
      for (let x = 0; x < stride; x++) acc[x] = (acc[x]! + Math.imul(src[row + x]!, w)) | 0;
    }
    const o = i * stride;
    for (let x = 0; x < stride; x++) out[o + x] = clip8(acc[x]!);
  }
  return out;
}

/** Columns x .. x + w of rows [y0, y1) of an image, copied. */
function cropColumns(img: Image8, x: number, w: number, y0: number, y1: number): Image8 {
  const c = img.channels;
  const out = new Uint8Array(w * (y1 - y0) * c);
  for (let y = y0; y < y1; y++)
    out.set(img.data.subarray((y * img.width + x) * c, (y * img.width + x + w) * c), (y - y0) * w * c);
  return { width: w, height: y1 - y0, channels: c, data: out };
}

/**
 * Pillow's convolution resize, computing only the output pixels inside `box` (each output pixel
 * depends on its own input window alone, so the box holds the same bytes as a full resize).
 */
function resizeConvolution(img: Image8, width: number, height: number, filter: Filter, box: Box): Image8 {
  const c = img.channels;
  const v = coefficients(img.height, height, filter);
  // Pillow runs the horizontal pass only over the rows the vertical pass reads.
  // (With the height unchanged there is no vertical pass: the rows are the box's own.)
  const last = box.y + box.h - 1;
  const sameHeight = height === img.height;
  const yFirst = sameHeight ? box.y : v.bounds[box.y * 2]!;
  const yLast = sameHeight ? box.y + box.h : v.bounds[last * 2]! + v.bounds[last * 2 + 1]!;
  const cur =
    width !== img.width
      ? {
          width: box.w,
          height: yLast - yFirst,
          channels: c,
          data: horizontalPass(img, width, box, yFirst, yLast - yFirst, filter),
        }
      : cropColumns(img, box.x, box.w, yFirst, yLast);
  if (sameHeight) return cur;
  for (let i = 0; i < height; i++) v.bounds[i * 2] = v.bounds[i * 2]! - yFirst;
  return { width: box.w, height: box.h, channels: c, data: verticalPass(cur, box, v) };
}

/**
 * Pillow's NEAREST resize is an affine transform (ImagingScaleAffine): source coordinates start
 * at half a step and grow by repeated addition of the step, then truncate; the accumulation is
 * kept as it is, since its rounding decides the ties.
 */
function sourceIndices(inSize: number, outSize: number): Int32Array {
  const step = inSize / outSize;
  const idx = new Int32Array(outSize);
  let o = step * 0.5;
  for (let i = 0; i < outSize; i++) {
    idx[i] = Math.min(Math.trunc(o), inSize - 1);
    o += step;
  }
  return idx;
}

function resizeNearest(img: Image8, width: number, height: number, box: Box): Image8 {
  const c = img.channels;
  const out = new Uint8Array(box.w * box.h * c);
  const xs = sourceIndices(img.width, width);
  const ys = sourceIndices(img.height, height);
  for (let y = 0; y < box.h; y++) {
    for (let x = 0; x < box.w; x++) {
      const src = (ys[y + box.y]! * img.width + xs[x + box.x]!) * c;
      for (let ch = 0; ch < c; ch++) out[(y * box.w + x) * c + ch] = img.data[src + ch]!;
    }
  }
  return { width: box.w, height: box.h, channels: c, data: out };
}

/**
 * Resizes an 8-bit image to width x height exactly as Pillow's `Image.resize(size, filter)`;
 * with `box`, only that part of the result (the same bytes, less work: a center crop after a
 * resize need not compute what it throws away).
 */
export function resizeImage(
  img: Image8,
  width: number,
  height: number,
  interpolation: Interpolation,
  box: Box = { x: 0, y: 0, w: width, h: height },
): Image8 {
  if (
    !(box.x >= 0 && box.y >= 0 && box.w > 0 && box.h > 0 && box.x + box.w <= width && box.y + box.h <= height)
  )
    throw new RangeError(`resize box ${JSON.stringify(box)} is not inside ${width}x${height}`);
  if (width === img.width && height === img.height)
    return box.w === width && box.h === height ? img : cropColumns(img, box.x, box.w, box.y, box.y + box.h);
  return interpolation === 'nearest'
    ? resizeNearest(img, width, height, box)
    : resizeConvolution(img, width, height, FILTERS[interpolation], box);
}
