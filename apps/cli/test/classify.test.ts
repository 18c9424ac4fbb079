import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '@cardinal/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, DEBIAN_PYTHON, debianPythonHas, referenceScript } from './helpers.js';

/**
 * `cardinal classify` against PyTorch: a timm-layout folder (config.json with a non-default
 * pretrained_cfg — size 176, bicubic, crop 0.95, its own mean and std — label names, and
 * pytorch_model.bin written by torch.save) made by the reference script from a torchvision
 * ResNet-18 with random BatchNorm statistics, and real photographs from python3-skimage run
 * through torchvision's transform and the model by PyTorch.
 */
const DATA = '/usr/lib/python3/dist-packages/skimage/data';
const IMAGES = ['chelsea.png', 'coffee.png', 'camera.png', 'astronaut.png'].map((f) => join(DATA, f));
const ok = debianPythonHas(
  ['torch', 'torchvision', 'PIL', 'skimage'],
  'the classify parity tests',
  'python3-torch python3-torchvision python3-pil python3-skimage',
);

interface Top {
  index: number;
  label: string;
  prob: number;
  logit: number;
}
interface Reference {
  file: string;
  top: Top[];
  features: number[];
}

const tmp = mkdtempSync(join(tmpdir(), 'cardinal-classify-'));
const folder = join(tmp, 'resnet18-folder');
let reference: Reference[] = [];

function expectSameTop(got: { file: string; top: Top[] }[], want: Reference[]): void {
  expect(got.map((r) => r.file)).toEqual(want.map((r) => r.file));
  for (const [i, r] of want.entries()) {
    const g = got[i]!.top;
    expect(g.map((t) => t.index)).toEqual(r.top.map((t) => t.index));
    expect(g.map((t) => t.label)).toEqual(r.top.map((t) => t.label));
    for (const [k, t] of r.top.entries()) expect(Math.abs(g[k]!.prob - t.prob)).toBeLessThan(1e-4);
  }
}

describe.runIf(ok)('cardinal classify against PyTorch', () => {
  beforeAll(() => {
    const json = execFileSync(
      DEBIAN_PYTHON,
      [referenceScript('torchvision_classify.py'), folder, ...IMAGES],
      {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    reference = JSON.parse(json) as Reference[];
  }, 300_000);

  it('gives PyTorch top-5 indices, labels and probabilities (1e-4) on a timm folder with pytorch_model.bin, and its features', async () => {
    const feats = join(tmp, 'feats.npy');
    const r = await cli(
      'classify',
      ...IMAGES,
      '--model',
      folder,
      '--json',
      '--batch-size',
      '3',
      '--features',
      feats,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const got = JSON.parse(r.stdout) as {
      model: string;
      backend: string;
      results: { file: string; top: Top[] }[];
    };
    expect(got.backend).toBe('onnx');
    expectSameTop(got.results, reference);
    const f = readNpy(readFileSync(feats));
    expect(f.shape).toEqual([IMAGES.length, 512]);
    let worst = 0;
    for (const [i, ref] of reference.entries())
      for (const [j, v] of ref.features.entries())
        worst = Math.max(worst, Math.abs(f.data[i * 512 + j]! - v));
    expect(worst).toBeLessThan(1e-4);
    expect(readFileSync(join(tmp, 'feats.txt'), 'utf8')).toBe(`${IMAGES.join('\n')}\n`);
  });

  it('reads a folder of images (sorted) and writes CSV with quoted labels', async () => {
    const dir = mkdtempSync(join(tmp, 'photos-'));
    for (const [i, p] of IMAGES.entries()) copyFileSync(p, join(dir, `${i}-${p.split('/').pop()}`));
    writeFileSync(join(dir, 'notes.txt'), 'not an image');
    const csv = join(tmp, 'out.csv');
    const r = await cli('classify', dir, '--model', folder, '--csv', csv, '--top', '2');
    expect(r.code).toBe(0);
    const lines = readFileSync(csv, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('file,rank,index,label,prob,logit');
    expect(lines).toHaveLength(1 + IMAGES.length * 2);
    for (const [i, ref] of reference.entries()) {
      const t = ref.top[0]!;
      const label = /[",]/.test(t.label) ? `"${t.label.replace(/"/g, '""')}"` : t.label;
      expect(lines[1 + 2 * i]).toContain(`,1,${t.index},${label},`);
    }
  });

  it('exports the folder as timm layout (model.safetensors) that classifies the same, and never replaces files without --force', async () => {
    const out = join(tmp, 'exported');
    let r = await cli('export', folder, '--format', 'folder', '--out', out);
    expect(r.code).toBe(0);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.architecture).toBe('resnet18');
    expect(config.num_classes).toBe(10);
    expect((config.label_names as string[])[3]).toBe('great, white shark');
    expect(config.pretrained_cfg).toMatchObject({
      input_size: [3, 176, 176],
      interpolation: 'bicubic',
      crop_pct: 0.95,
      mean: [0.5, 0.45, 0.4],
      std: [0.25, 0.2, 0.3],
    });
    r = await cli('classify', ...IMAGES, '--model', out, '--json');
    expectSameTop((JSON.parse(r.stdout) as { results: { file: string; top: Top[] }[] }).results, reference);

    const before = statSync(join(out, 'model.safetensors')).mtimeMs;
    r = await cli('export', folder, '--format', 'folder', '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/config\.json: already exists \(use --force/);
    expect(statSync(join(out, 'model.safetensors')).mtimeMs).toBe(before);
    r = await cli('export', out, '--format', 'folder', '--out', out, '--force');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is also an input of this command/);
    r = await cli('export', folder, '--format', 'folder', '--out', out, '--force');
    expect(r.code).toBe(0);
  });

  it('refuses, in one line with exit 1, labels that do not fit, an image it cannot decode, a folder without config.json', async () => {
    const labels = join(tmp, 'three.txt');
    writeFileSync(labels, 'a\nb\nc\n');
    let r = await cli('classify', IMAGES[0]!, '--model', folder, '--labels', labels);
    expect([r.code, r.stderr]).toEqual([1, `cardinal: error: ${labels}: 3 labels for a model of 10 classes`]);
    const fake = join(tmp, 'fake.png');
    writeFileSync(fake, 'this is text, not a PNG');
    r = await cli('classify', fake, '--model', folder);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^cardinal: error: ${fake}: cannot decode image`));
    expect(r.stderr.split('\n')).toHaveLength(1);
    r = await cli('classify', IMAGES[0]!, '--model', tmp);
    expect([r.code, r.stderr]).toEqual([
      1,
      `cardinal: error: ${tmp}: not a model folder (no config.json; timm's layout is config.json + model.safetensors)`,
    ]);
  });
});

describe('cardinal classify with no trained weights', () => {
  const photo = join(DATA, 'chelsea.png');
  it('puts the RANDOM WEIGHTS banner above the table and random_weights in --json', async () => {
    const table = await cli('classify', photo, '--model', 'resnet18', '--top', '3');
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^RANDOM WEIGHTS: these classes mean nothing\..*--weights.*fashion_resnext/);
    expect(lines[1]).toBe(photo);
    const json = await cli('classify', photo, '--model', 'resnet18', '--json');
    expect(json.code, json.stderr).toBe(0);
    const j = JSON.parse(json.stdout) as { random_weights?: boolean; warning?: string; results: unknown[] };
    expect(j.random_weights).toBe(true);
    expect(j.warning).toBe(lines[0]);
    expect(j.results).toHaveLength(1);
  });

  it.skipIf(!ok)('a model with its weights from a file carries no such mark', async () => {
    const r = await cli('classify', photo, '--model', folder, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).random_weights).toBeUndefined();
  });
});
