import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy, readSafetensors } from '@cardinal/core';
import { compareToExpected, loadFixture } from '@cardinal/testkit';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'cardinal-export-'));

describe('cardinal export --format onnx', () => {
  it('exports a fixture with its weights; onnxruntime reproduces output.bin from the file', async () => {
    const f = loadFixture('tiny_resnest');
    const out = join(tmp, 'tiny_resnest.onnx');
    const r = await cli(
      'export',
      join(f.dir, 'meta.json'),
      '--format',
      'onnx',
      '--weights',
      f.weightsPath,
      '--out',
      out,
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ format: 'onnx', opset: 17, ir_version: 8, out });
    const session = await ort.InferenceSession.create(out);
    const y = (await session.run({ input: new ort.Tensor('float32', f.input.data, [...f.input.shape]) }))[
      session.outputNames[0]!
    ]!;
    expect(
      compareToExpected({ shape: [...y.dims], data: y.data as Float32Array }, f.expected, f.atol).pass,
    ).toBe(true);
    await session.release();
    expect(readdirSync(tmp).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it("--features: timm's features_only model, one output per map, each within its atol in onnxruntime", async () => {
    const f = loadFixture('timm/tiny_resnext_features');
    const out = join(tmp, 'features.onnx');
    const r = await cli(
      'export',
      join(f.dir, 'meta.json'),
      '--weights',
      f.weightsPath,
      '--features',
      '--out',
      out,
      '--input-size',
      '32',
    );
    expect(r.code, r.stderr).toBe(0);
    const session = await ort.InferenceSession.create(out);
    expect(session.outputNames).toEqual(f.features!.keys);
    const maps = await session.run({ input: new ort.Tensor('float32', f.input.data, [...f.input.shape]) });
    const want = readSafetensors(readFileSync(f.features!.path), 'features');
    f.features!.keys.forEach((key, i) => {
      const y = maps[key]!;
      const cmp = compareToExpected(
        { shape: [...y.dims], data: y.data as Float32Array },
        want.get(key)!,
        f.features!.atol[i]!,
      );
      expect(cmp.maxAbsDiff, key).toBeLessThanOrEqual(cmp.atol);
    });
    await session.release();
  });

  it('refuses to overwrite an existing file without --force, and replaces it with --force', async () => {
    const out = join(tmp, 'existing.onnx');
    writeFileSync(out, 'keep me');
    const r = await cli('export', 'resnet18', '--format', 'onnx', '--out', out, '--input-size', '64');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/existing\.onnx: already exists \(use --force to overwrite\)/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    const forced = await cli(
      'export',
      'resnet18',
      '--format',
      'onnx',
      '--out',
      out,
      '--input-size',
      '64',
      '--force',
    );
    expect(forced.code).toBe(0);
    expect(readFileSync(out).byteLength).toBeGreaterThan(40e6);
  });

  it('names an unwritable --out path in one line', async () => {
    const r = await cli(
      'export',
      'resnet18',
      '--format',
      'onnx',
      '--out',
      '/proc/cardinal.onnx',
      '--input-size',
      '32',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cardinal: error: \/proc\/cardinal\.onnx: cannot write \(/m);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('cardinal: error'))).toHaveLength(1);
    expect(existsSync('/proc/cardinal.onnx')).toBe(false);
  });

  it('rejects an unknown format and a missing --out', async () => {
    expect((await cli('export', 'resnet18', '--format', 'tflite', '--out', join(tmp, 'x'))).stderr).toMatch(
      /unknown --format 'tflite'/,
    );
    expect((await cli('export', 'resnet18')).stderr).toMatch(/--out FILE is required/);
  });

  it('runs a .npy through `run --backend onnx --threads 1` and matches the reference backend', async () => {
    const f = loadFixture('tiny_skresnext');
    const a = join(tmp, 'a.npy');
    const b = join(tmp, 'b.npy');
    await cli(
      'run',
      join(f.dir, 'meta.json'),
      '--weights',
      f.weightsPath,
      '--input',
      join(f.dir, 'input.npy'),
      '--out',
      a,
    );
    const r = await cli(
      'run',
      join(f.dir, 'meta.json'),
      '--backend',
      'onnx',
      '--threads',
      '1',
      '--weights',
      f.weightsPath,
      '--input',
      join(f.dir, 'input.npy'),
      '--out',
      b,
    );
    expect(r.code, r.stderr).toBe(0);
    const ya = readNpy(readFileSync(a));
    const yb = readNpy(readFileSync(b));
    expect(compareToExpected(yb, f.expected, f.atol).pass).toBe(true);
    expect(compareToExpected(ya, f.expected, f.atol).pass).toBe(true);
  });
});
