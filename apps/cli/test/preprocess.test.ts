import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { readNpy } from '@cardinal/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, DEBIAN_PYTHON, debianPythonHas, referenceScript } from './helpers.js';

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

/**
 * A real grayscale PNG of width x height black pixels: a few hundred kilobytes on disk that
 * decode to width x height bytes (a decompression bomb when large).
 */
function blackPng(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const chunk = (type: string, body: Buffer) => {
    const t = Buffer.concat([Buffer.from(type), body]);
    let c = 0xffffffff;
    for (const x of t) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    const out = Buffer.alloc(12 + body.length);
    out.writeUInt32BE(body.length, 0);
    t.copy(out, 4);
    out.writeUInt32BE((c ^ 0xffffffff) >>> 0, 8 + body.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  // Each row: filter byte 0, then width zero bytes.
  const idat = deflateSync(Buffer.alloc((width + 1) * height), { level: 9 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

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
