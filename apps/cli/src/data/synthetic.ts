import { mulberry32 } from '@cardinal/core';
import type { Dataset } from './dataset.js';

const SHAPES = ['circle', 'square', 'triangle', 'cross', 'ring'] as const;
const COLOURS: Record<string, [number, number, number]> = { red: [0.9, 0.2, 0.15], blue: [0.15, 0.35, 0.95] };

function inside(shape: (typeof SHAPES)[number], dx: number, dy: number, r: number): boolean {
  const d = Math.hypot(dx, dy);
  switch (shape) {
    case 'circle':
      return d < r;
    case 'square':
      return Math.abs(dx) < r * 0.85 && Math.abs(dy) < r * 0.85;
    case 'triangle':
      return dy < r * 0.8 && dy > -r && Math.abs(dx) < (dy + r) * 0.55;
    case 'cross':
      return (Math.abs(dx) < r / 3 && Math.abs(dy) < r) || (Math.abs(dy) < r / 3 && Math.abs(dx) < r);
    case 'ring':
      return d < r && d > r * 0.55;
  }
}

/**
 * Coloured shapes: 10 classes (5 shapes x 2 colours), each image one shape at a random place
 * and size over a noisy background, colour jittered. Deterministic for a seed; needs no download.
 */
export function syntheticShapes(count: number, size = 32, seed = 0): Dataset {
  const rand = mulberry32(seed);
  const classes = SHAPES.flatMap((s) => Object.keys(COLOURS).map((c) => `${c} ${s}`));
  const plane = size * size;
  const images = new Float32Array(count * 3 * plane);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const label = Math.floor(rand() * classes.length);
    labels[n] = label;
    const shape = SHAPES[Math.floor(label / 2)]!;
    const colour = COLOURS[label % 2 === 0 ? 'red' : 'blue']!.map((v) => v + (rand() - 0.5) * 0.2);
    const bg = 0.3 + rand() * 0.3;
    const r = size * (0.22 + rand() * 0.15);
    const cx = r + rand() * (size - 2 * r);
    const cy = r + rand() * (size - 2 * r);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const hit = inside(shape, x + 0.5 - cx, y + 0.5 - cy, r);
        for (let c = 0; c < 3; c++) {
          const v = (hit ? colour[c]! : bg) + (rand() - 0.5) * 0.15;
          images[(n * 3 + c) * plane + y * size + x] = (v - 0.5) / 0.25;
        }
      }
    }
  }
  return { images, labels, count, shape: [3, size, size], classes };
}
