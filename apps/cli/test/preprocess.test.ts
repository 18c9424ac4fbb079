import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '@cardinal/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { blackPng, cli, DEBIAN_PYTHON, debianPythonHas, referenceScript } from './helpers.js';

/**
 * `cardinal preprocess` (decoded by sharp) against torchvision with PIL on the same files, real
 * photographs from Debian's python3-skimage. PNG is lossless, so the batches must be equal; JPEG
 * decoders differ (libjpeg-turbo in sharp, libjpeg in PIL), so the largest difference is reported
 * and kept below 3/255.
 */
const SCRIPT = referenceScript('torchvision_preprocess.py');
const DATA = '/usr/lib/python3/dist-packages/skimage/data';
const ok = debianPythonHas(
  ['torchvision', 'PIL', 'skimage'],
  'the preprocess CLI parity tests',
  'python3-torchvision python3-pil python3-skimage',
);

const tmp = mkdtempSync(join(tmpdir(), 'cardinal-pre-'));
interface Case {
  key: string;
  image: string;
  size: number;
  interpolation: string;
  crop_pct: number;
  mean: number[];
  std: number[];
  channels: number;
}
let cases: Case[] = [];

describe.skipIf(!ok)('cardinal preprocess equals torchvision', () => {
  beforeAll(() => {
    execFileSync(DEBIAN_PYTHON, [SCRIPT, tmp]);
    cases = JSON.parse(readFileSync(join(tmp, 'cases.json'), 'utf8')) as Case[];
    writeFileSync(
      join(tmp, 'gray.json'),
      JSON.stringify({ block: 'BasicBlock', layers: [1, 1, 1, 1], in_chans: 1 }),
    );
  }, 120_000);

  it('on PNG (RGB, gray, RGBA, palette) exactly, on JPEG within 3/255, bilinear, bicubic and nearest, RGB and gray', async () => {
    const jpeg: string[] = [];
    let checked = 0;
    for (const c of cases) {
      const out = join(tmp, `cli-${c.key}.npy`);
      const model = c.channels === 1 ? join(tmp, 'gray.json') : 'resnet18';
      const r = await cli(
        'preprocess',
        join(DATA, c.image),
        '--model',
        model,
        '--input-size',
        String(c.size),
        '--interpolation',
        c.interpolation,
        '--crop-pct',
        String(c.crop_pct),
        '--mean',
        c.mean.join(','),
        '--std',
        c.std.join(','),
        '--out',
        out,
      );
      expect(r.code, r.stderr).toBe(0);
      const got = readNpy(readFileSync(out));
      const want = readNpy(readFileSync(join(tmp, `${c.key}-normalized.npy`)));
      expect(got.shape).toEqual([1, ...want.shape]);
      // Back to the 0..1 scale of ToTensor, where 1/255 is one level of a pixel.
      const minStd = Math.min(...c.std);
      let diff = 0;
      for (let i = 0; i < got.data.length; i++)
        diff = Math.max(diff, Math.abs(got.data[i]! - want.data[i]!) * minStd);
      if (c.image.endsWith('.png')) expect(diff, `${c.image} ${c.interpolation} ${c.size}`).toBe(0);
      else {
        jpeg.push(`${c.image} ${c.interpolation} ${c.size}: ${(diff * 255).toFixed(2)}/255`);
        expect(diff, `${c.image} ${c.interpolation} ${c.size}`).toBeLessThan(3 / 255);
      }
      checked++;
    }
    console.log(`preprocess: ${checked} cases; JPEG, largest difference per case: ${jpeg.join('; ')}`);
  }, 300_000);

  it('refuses an unreadable image and one over the pixel limit, in one line, exit 1', async () => {
    writeFileSync(join(tmp, 'not-an-image.png'), 'hello');
    let r = await cli(
      'preprocess',
      join(tmp, 'not-an-image.png'),
      '--model',
      'resnet18',
      '--out',
      join(tmp, 'x.npy'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^cardinal: error: .*not-an-image\.png: cannot decode image/);
    // 9,500 x 9,500 = 90.25 M pixels, just over the limit.
    writeFileSync(join(tmp, 'bomb.png'), blackPng(9_500, 9_500));
    r = await cli('preprocess', join(tmp, 'bomb.png'), '--model', 'resnet18', '--out', join(tmp, 'y.npy'));
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^cardinal: error: .*bomb\.png: image is larger than 89478485 pixels/);
  });
});
