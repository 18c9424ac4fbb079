import { mulberry32 } from '../random.js';
import type { Tensor } from '../tensor.js';
import type { PreprocessConfig } from './preprocess.js';
import { type Image8, resizeImage } from './resample.js';

function crop(img: Image8, x: number, y: number, w: number, h: number): Image8 {
  const c = img.channels;
  const out = new Uint8Array(w * h * c);
  for (let r = 0; r < h; r++)
    out.set(img.data.subarray(((y + r) * img.width + x) * c, ((y + r) * img.width + x + w) * c), r * w * c);
  return { width: w, height: h, channels: c, data: out };
}

/**
 * torchvision's RandomResizedCrop: a box of a random area fraction in `scale` and aspect ratio
 * (log-uniform) in `ratio`, ten tries, else the whole image clamped to the ratio range,
 * resized to `size` [h, w] (Pillow's resampling). `next` gives uniforms in [0, 1).
 */
export function randomResizedCrop(
  img: Image8,
  size: readonly [number, number],
  next: () => number,
  interpolation: PreprocessConfig['interpolation'] = 'bilinear',
  scale: readonly [number, number] = [0.08, 1],
  ratio: readonly [number, number] = [3 / 4, 4 / 3],
): Image8 {
  const { width, height } = img;
  const area = width * height;
  const [lo, hi] = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (scale[0] + next() * (scale[1] - scale[0]));
    const aspect = Math.exp(lo + next() * (hi - lo));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      const y = Math.floor(next() * (height - h + 1));
      const x = Math.floor(next() * (width - w + 1));
      return resizeImage(crop(img, x, y, w, h), size[1], size[0], interpolation);
    }
  }
  // Fallback: a central crop at the nearest allowed ratio.
  const inRatio = width / height;
  let [w, h] = [width, height];
  if (inRatio < ratio[0]) h = Math.round(width / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(height * ratio[1]);
  return resizeImage(
    crop(img, Math.floor((width - w) / 2), Math.floor((height - h) / 2), w, h),
    size[1],
    size[0],
    interpolation,
  );
}

/** A left-right mirror (torchvision's hflip). */
export function flipHorizontal(img: Image8): Image8 {
  const { width, height, channels: c } = img;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const src = (y * width + x) * c;
      const dst = (y * width + (width - 1 - x)) * c;
      for (let k = 0; k < c; k++) out[dst + k] = img.data[src + k]!;
    }
  return { width, height, channels: c, data: out };
}

/**
 * Random crop with zero padding and horizontal flip, as torchvision's RandomCrop(size,
 * padding=pad) and RandomHorizontalFlip() on a batch of NCHW images: each image is shifted by
 * up to `pad` pixels (the exposed border is `fill`, the normalised value of a black pixel) and
 * mirrored with probability one half. Seeded: the same seed gives the same batch.
 */
export function randomCropFlipBatch(x: Tensor, seed: number, pad: number, fill: number): void {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const next = mulberry32(seed);
  const plane = h * w;
  const tmp = new Float32Array(plane);
  for (let i = 0; i < n; i++) {
    const dy = Math.floor(next() * (2 * pad + 1)) - pad;
    const dx = Math.floor(next() * (2 * pad + 1)) - pad;
    const flip = next() < 0.5;
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * plane;
      const src = x.data.subarray(base, base + plane);
      for (let y = 0; y < h; y++) {
        const sy = y + dy;
        for (let xo = 0; xo < w; xo++) {
          const xs = (flip ? w - 1 - xo : xo) + dx;
          tmp[y * w + xo] = sy >= 0 && sy < h && xs >= 0 && xs < w ? src[sy * w + xs]! : fill;
        }
      }
      src.set(tmp);
    }
  }
}
