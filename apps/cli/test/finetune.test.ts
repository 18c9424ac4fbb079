import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webgpuBackend } from '@cardinal/backend-webgpu';
import { mulberry32, readSafetensors, readTorchCheckpoint } from '@cardinal/core';
import { loadFixture } from '@cardinal/testkit';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, DEBIAN_PYTHON } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'cardinal-finetune-'));
const TORCH = spawnSync(DEBIAN_PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0;
if (!TORCH) console.log('skipped the resnext50 .pth fine-tuning: Debian python3-torchvision missing');
const webgpu = await webgpuBackend.isAvailable();
if (!webgpu.available) console.log(`skipped fine-tuning on webgpu: ${webgpu.reason}`);

/** torchvision's resnext50_32x4d saved with torch.save, made once. */
let r50: string | undefined;
function r50Pth(): string {
  if (r50) return r50;
  const path = join(tmp, 'resnext50_32x4d.pth');
  const r = spawnSync(
    DEBIAN_PYTHON,
    [
      '-c',
      'import sys, torch, torchvision; torch.manual_seed(0); torch.save(torchvision.models.resnext50_32x4d().state_dict(), sys.argv[1])',
      path,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  r50 = path;
  return path;
}

/** A .pth's tensors, through core's PyTorch reader. */
const readTorchState = (path: string) => readTorchCheckpoint(readFileSync(path), { source: path }).tensors;
const photos = join(tmp, 'photos');
const COLOURS = { red: [200, 40, 40], green: [40, 180, 60], blue: [50, 70, 210] } as const;

/** Three classes of 48x40 PNGs: noisy pictures of one dominant colour each. */
beforeAll(async () => {
  const next = mulberry32(11);
  for (const [name, [r, g, b]] of Object.entries(COLOURS)) {
    mkdirSync(join(photos, name), { recursive: true });
    for (let i = 0; i < 14; i++) {
      const px = Buffer.alloc(48 * 40 * 3);
      for (let p = 0; p < 48 * 40; p++) {
        const n = () => Math.floor((next() - 0.5) * 120);
        px[p * 3] = Math.max(0, Math.min(255, r + n()));
        px[p * 3 + 1] = Math.max(0, Math.min(255, g + n()));
        px[p * 3 + 2] = Math.max(0, Math.min(255, b + n()));
      }
      await sharp(px, { raw: { width: 48, height: 40, channels: 3 } })
        .png()
        .toFile(join(photos, name, `${i}.png`));
    }
  }
});

describe('fine-tuning a fixture on a folder of photos', () => {
  it('drops the old head (and says so), keeps the frozen stem, and learns the three classes', async () => {
    const f = loadFixture('tiny_resnext');
    const out = join(tmp, 'tuned.safetensors');
    const r = await cli(
      'train',
      join(f.dir, 'meta.json'),
      '--weights',
      f.weightsPath,
      '--data',
      photos,
      '--num-classes',
      '3',
      '--freeze',
      'stem',
      '--backbone-lr',
      '0.1',
      '--input-size',
      '32',
      '--epochs',
      '3',
      '--batch-size',
      '8',
      '--val-size',
      '6',
      '--optimizer',
      'adamw',
      '--lr',
      '0.003',
      '--out',
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/a new head for this data: dropped fc\.weight \[10, 256\], fc\.bias \[10\]/);
    const before = readSafetensors(readFileSync(f.weightsPath));
    const after = readSafetensors(readFileSync(out));
    expect(after.get('fc.weight')!.shape).toEqual([3, 256]);
    for (const k of ['conv1.weight', 'bn1.weight', 'bn1.bias'])
      expect(Array.from(after.get(k)!.data), k).toEqual(Array.from(before.get(k)!.data));
    expect(Array.from(after.get('layer1.0.conv1.weight')!.data)).not.toEqual(
      Array.from(before.get('layer1.0.conv1.weight')!.data),
    );
    console.log(`fine-tuned: ${r.stdout.trim()}`);

    // Evaluated with the model's own transform (resize, center crop, normalize), every photo.
    const e = await cli(
      'eval',
      join(f.dir, 'meta.json'),
      '--weights',
      out,
      '--data',
      photos,
      '--input-size',
      '32',
      '--json',
    );
    expect(e.code, e.stderr).toBe(0);
    const report = JSON.parse(e.stdout) as { top1: number; n: number; confusion: number[][] };
    expect(report.n).toBe(42);
    expect(report.top1).toBeGreaterThan(0.8);
  }, 300_000);

  // torchvision's resnext50_32x4d as torch.save writes it (its own initialisation: no pretrained
  // file can be fetched here), fine-tuned with a new 3-class head and all but layer4 frozen.
  it.skipIf(!TORCH).each(webgpu.available ? ['onnx', 'webgpu'] : ['onnx'])(
    'fine-tunes a resnext50_32x4d .pth on the photos with --num-classes and --freeze on %s',
    async (backend) => {
      const out = join(tmp, `r50-${backend}.safetensors`);
      const r = await cli(
        'train',
        'resnext50_32x4d',
        '--weights',
        r50Pth(),
        '--backend',
        backend,
        '--data',
        photos,
        '--num-classes',
        '3',
        '--freeze',
        'conv1,bn1,layer1,layer2,layer3',
        '--input-size',
        '32',
        '--epochs',
        '1',
        '--batch-size',
        '12',
        '--val-size',
        '6',
        '--optimizer',
        'sgd',
        '--lr',
        '0.01',
        '--out',
        out,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        /a new head for this data: dropped fc\.weight \[1000, 2048\], fc\.bias \[1000\]/,
      );
      expect(r.stderr).toMatch(new RegExp(`^training resnext50_32x4d on ${backend}`, 'm'));
      const before = readTorchState(r50Pth());
      const after = readSafetensors(readFileSync(out));
      expect(after.get('fc.weight')!.shape).toEqual([3, 2048]);
      // Frozen: the stem's and layer3's convolutions as they were; layer4 trained.
      for (const k of ['conv1.weight', 'layer3.5.conv3.weight'])
        expect(Array.from(after.get(k)!.data), k).toEqual(Array.from(before.get(k)!.data));
      expect(Array.from(after.get('layer4.2.conv3.weight')!.data)).not.toEqual(
        Array.from(before.get('layer4.2.conv3.weight')!.data),
      );
    },
    300_000,
  );

  it('refuses an empty class folder in one line, writing nothing', async () => {
    mkdirSync(join(photos, 'zzz-empty'));
    const out = join(tmp, 'never.safetensors');
    const r = await cli('train', 'resnet18', '--data', photos, '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/zzz-empty: no images in this class folder/);
  });
});
