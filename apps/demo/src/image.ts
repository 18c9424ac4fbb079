import type { Tensor } from '@cardinal/core';

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** Sample pictures drawn by code in this repository: nothing is fetched. */
export const SAMPLES: Record<string, (ctx: CanvasRenderingContext2D, size: number) => void> = {
  sunset(ctx, s) {
    const g = ctx.createLinearGradient(0, 0, 0, s);
    g.addColorStop(0, '#1d2b64');
    g.addColorStop(0.6, '#f8a35c');
    g.addColorStop(1, '#4a2c2a');
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, s, s);
    ctx.fillStyle = '#ffd86b';
    ctx.beginPath();
    ctx.arc(s * 0.5, s * 0.62, s * 0.16, 0, Math.PI * 2);
    ctx.fill();
  },
  checkerboard(ctx, s) {
    const n = 8;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        ctx.fillStyle = (i + j) % 2 ? '#222' : '#eee';
        ctx.fillRect((i * s) / n, (j * s) / n, s / n, s / n);
      }
  },
  bubbles(ctx, s) {
    ctx.fillStyle = '#0b3d2e';
    ctx.fillRect(0, 0, s, s);
    let seed = 7;
    const rnd = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let i = 0; i < 40; i++) {
      ctx.fillStyle = `hsl(${Math.floor(rnd() * 360)}, 70%, 60%)`;
      ctx.beginPath();
      ctx.arc(rnd() * s, rnd() * s, 4 + rnd() * s * 0.08, 0, Math.PI * 2);
      ctx.fill();
    }
  },
};

/**
 * An image as ImageNet models expect it: resized to size x size (the canvas's smoothing),
 * RGB in [0, 1], normalised by ImageNet's mean and std, NCHW.
 */
export function imageToTensor(source: CanvasImageSource, size: number): Tensor {
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, size, size);
  const rgba = ctx.getImageData(0, 0, size, size).data;
  const plane = size * size;
  const data = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++)
    for (let c = 0; c < 3; c++) data[c * plane + i] = (rgba[i * 4 + c]! / 255 - MEAN[c]!) / STD[c]!;
  return { shape: [1, 3, size, size], data };
}

export function drawSample(name: string, size = 224): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  SAMPLES[name]!(canvas.getContext('2d')!, size);
  return canvas;
}
