import { type Image8, type PreprocessConfig, preprocessImages, type Tensor } from '@cardinal/core';

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
 * A file decoded by the browser as PIL decodes it: the embedded colour profile ignored
 * (colorSpaceConversion 'none'), alpha not premultiplied, no EXIF rotation.
 */
export function decodeFile(file: Blob): Promise<ImageBitmap> {
  return createImageBitmap(file, {
    colorSpaceConversion: 'none',
    premultiplyAlpha: 'none',
    // PIL does not apply EXIF orientation either.
    imageOrientation: 'none',
  });
}

/** The pixels of an image or canvas at its natural size, RGBA 8-bit. */
export function pixelsOf(source: ImageBitmap | HTMLCanvasElement): Image8 {
  const canvas = document.createElement('canvas');
  canvas.width = source.width;
  canvas.height = source.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(source, 0, 0);
  const { data } = ctx.getImageData(0, 0, source.width, source.height);
  return { width: source.width, height: source.height, channels: 4, data: new Uint8Array(data.buffer) };
}

/**
 * The batch the model sees: core's torchvision-exact transform (Resize to floor(size / crop_pct)
 * with Pillow's filters, CenterCrop, ToTensor, Normalize), the same code the CLI runs in Node.
 */
export function imageToTensor(source: ImageBitmap | HTMLCanvasElement, cfg: PreprocessConfig): Tensor {
  return preprocessImages([pixelsOf(source)], cfg);
}

/** Draws the crop the model sees (the tensor, its normalisation undone) on a canvas. */
export function drawCrop(canvas: HTMLCanvasElement, x: Tensor, cfg: PreprocessConfig): void {
  const [, c, h, w] = x.shape as [number, number, number, number];
  canvas.width = w;
  canvas.height = h;
  const img = new ImageData(w, h);
  const plane = h * w;
  for (let i = 0; i < plane; i++) {
    for (let k = 0; k < 3; k++) {
      const ch = c === 1 ? 0 : k;
      img.data[i * 4 + k] = Math.round((x.data[ch * plane + i]! * cfg.std[ch]! + cfg.mean[ch]!) * 255);
    }
    img.data[i * 4 + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(img, 0, 0);
}

export function drawSample(name: string, size = 224): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  SAMPLES[name]!(canvas.getContext('2d')!, size);
  return canvas;
}
