import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  centerCrop,
  type Image8,
  type PreprocessConfig,
  preprocessImages,
  readNpy,
  resizeImage,
  transformImage,
} from '../src/index.js';

/**
 * Preprocessing against torchvision itself (Debian's python3-torchvision with PIL) on real
 * photographs from python3-skimage: RGB, grayscale, RGBA and palette images, square and not,
 * PNG and JPEG (decoded by PIL on both sides here), bilinear, bicubic and nearest, at 224 and at
 * odd sizes, and the one-channel path.
 */
const PYTHON = '/usr/bin/python3';
const hasTorchvision =
  spawnSync(PYTHON, ['-c', 'import torchvision, PIL, skimage'], { stdio: 'ignore' }).status === 0;
if (!hasTorchvision)
  console.log(
    'skipped the torchvision parity tests: Debian python3-torchvision, python3-pil or python3-skimage is missing',
  );

interface Case {
  key: string;
  image: string;
  mode: string;
  size: number;
  interpolation: PreprocessConfig['interpolation'];
  crop_pct: number;
  mean: number[];
  std: number[];
  channels: 1 | 3;
}

const dir = mkdtempSync(join(tmpdir(), 'cardinal-tv-'));
let cases: Case[] = [];

describe.skipIf(!hasTorchvision)('preprocessing equals torchvision', () => {
  beforeAll(() => {
    execFileSync(PYTHON, [join(import.meta.dirname, 'reference', 'torchvision_preprocess.py'), dir]);
    cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as Case[];
  }, 120_000);

  it('byte for byte before normalisation, and bit for bit after, on every image and configuration', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
    const worst: string[] = [];
    for (const c of cases) {
      const px = readNpy(readFileSync(join(dir, `${c.key}-pixels.npy`)));
      const [h, w, ch] = px.shape as [number, number, number];
      const img: Image8 = { width: w, height: h, channels: ch, data: Uint8Array.from(px.data) };
      const cfg: PreprocessConfig = {
        inputSize: [c.size, c.size],
        interpolation: c.interpolation,
        cropPct: c.crop_pct,
        mean: c.mean,
        std: c.std,
        channels: c.channels,
      };
      const t = transformImage(img, cfg);
      const want = readNpy(readFileSync(join(dir, `${c.key}-totensor.npy`)));
      let bytes = 0;
      const hw = c.size * c.size;
      for (let k = 0; k < c.channels; k++)
        for (let i = 0; i < hw; i++)
          if (Math.round(want.data[k * hw + i]! * 255) !== t.data[i * c.channels + k]) bytes++;
      const y = preprocessImages([img], cfg);
      const wantN = readNpy(readFileSync(join(dir, `${c.key}-normalized.npy`)));
      expect(y.shape.slice(1)).toEqual(wantN.shape);
      let diff = 0;
      for (let i = 0; i < y.data.length; i++) diff = Math.max(diff, Math.abs(y.data[i]! - wantN.data[i]!));
      if (bytes || diff)
        worst.push(
          `${c.image} (${c.mode}) ${c.interpolation} ${c.size}/${c.crop_pct}: ${bytes} bytes differ, max |diff| ${diff}`,
        );
    }
    expect(worst).toEqual([]);
  });
});

describe('resampling without a reference at hand', () => {
  it('keeps a constant image constant, and an image of its own size unchanged', () => {
    const img: Image8 = { width: 37, height: 23, channels: 3, data: new Uint8Array(37 * 23 * 3).fill(200) };
    for (const mode of ['bilinear', 'bicubic', 'nearest'] as const) {
      const r = resizeImage(img, 11, 64, mode);
      expect(
        r.data.every((v) => v === 200),
        mode,
      ).toBe(true);
      expect(resizeImage(img, 37, 23, mode)).toBe(img);
    }
  });

  it('centre-crops with Python rounding and pads a small image with zeros', () => {
    const img: Image8 = {
      width: 5,
      height: 4,
      channels: 1,
      data: Uint8Array.from({ length: 20 }, (_, i) => i + 1),
    };
    // (5 - 2) / 2 = 1.5 rounds to 2 (even), (4 - 1) / 2 = 1.5 rounds to 2.
    expect([...centerCrop(img, 1, 2).data]).toEqual([13, 14]);
    const padded = centerCrop(img, 6, 5);
    expect(padded.data.slice(0, 5).every((v) => v === 0)).toBe(true);
    expect([...padded.data.slice(5, 10)]).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('resizing only a box', () => {
  it('gives the bytes of the full resize inside the box, for every filter, up and down, odd sizes', () => {
    let seed = 1;
    const rnd = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (const [w0, h0, w1, h1] of [
      [97, 61, 40, 29],
      [33, 50, 71, 88],
      [64, 64, 64, 31],
      [50, 40, 23, 40],
    ] as const)
      for (const channels of [1, 3, 4])
        for (const interpolation of ['nearest', 'bilinear', 'bicubic'] as const) {
          const img = {
            width: w0,
            height: h0,
            channels,
            data: Uint8Array.from({ length: w0 * h0 * channels }, () => Math.floor(rnd() * 256)),
          };
          const full = resizeImage(img, w1, h1, interpolation);
          const box = {
            x: Math.floor(w1 / 5),
            y: Math.floor(h1 / 3),
            w: Math.ceil(w1 / 2),
            h: Math.ceil(h1 / 2),
          };
          const part = resizeImage(img, w1, h1, interpolation, box);
          const want = new Uint8Array(box.w * box.h * channels);
          for (let y = 0; y < box.h; y++)
            want.set(
              full.data.subarray(
                ((y + box.y) * w1 + box.x) * channels,
                ((y + box.y) * w1 + box.x + box.w) * channels,
              ),
              y * box.w * channels,
            );
          expect([part.width, part.height]).toEqual([box.w, box.h]);
          expect(part.data).toEqual(want);
        }
  });
});
