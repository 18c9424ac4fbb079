import { mulberry32 } from '@cardinal/core';

/**
 * Random crop with zero padding and horizontal flip, as torchvision's RandomCrop(size,
 * padding=pad) and RandomHorizontalFlip() on a batch of NCHW images: each image is shifted by
 * up to `pad` pixels (the exposed border is `fill`, the normalised value of a black pixel) and
 * mirrored with probability one half. Seeded: the same seed gives the same batch.
 */
export function augmentBatch(
  x: { shape: number[]; data: Float32Array },
  seed: number,
  pad: number,
  fill: number,
): void {
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
