import { ZOO } from '@cardinal/core';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

const ISSUE_PARAMS: Record<string, number> = {
  resnet50: 25_557_032,
  resnext50_32x4d: 25_028_904,
  resnext101_32x8d: 88_791_336,
  seresnext50_32x4d: 27_559_896,
  senet154: 115_088_984,
  skresnet18: 11_958_056,
  skresnext50_32x4d: 27_479_784,
  resnest14d: 10_611_688,
  resnest50d: 27_483_240,
  resnest50d_4s2x40d: 30_417_592,
};

describe('cardinal summary --json', () => {
  it.each(Object.entries(ISSUE_PARAMS))('%s reports PyTorch params %i', async (model, params) => {
    const r = await cli('summary', model, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.model).toBe(model);
    expect(j.params).toBe(params);
    expect(j.input_shape).toEqual([1, 3, 224, 224]);
    expect(j.layers.length).toBeGreaterThan(10);
    const first = j.layers[0];
    expect(first.path).toMatch(/^conv1(\.0)?$/);
    expect(first.op).toBe('conv2d');
    expect(first.output_shape.slice(2)).toEqual([112, 112]);
  });

  it('resnext50_32x4d MACs at 224 are within 0.5% of 4.23e9', async () => {
    const j = JSON.parse((await cli('summary', 'resnext50_32x4d', '--json')).stdout);
    expect(Math.abs(j.macs - 4.23e9) / 4.23e9).toBeLessThan(0.005);
  });

  it('--input-size changes the shapes and MACs, not the params', async () => {
    const a = JSON.parse((await cli('summary', 'resnet18', '--json')).stdout);
    const b = JSON.parse((await cli('summary', 'resnet18', '--json', '--input-size', '160,128')).stdout);
    expect(b.params).toBe(a.params);
    expect(b.input_shape).toEqual([1, 3, 160, 128]);
    expect(b.macs).toBeLessThan(a.macs);
  });

  it('prints a table with totals for people', async () => {
    const r = await cli('summary', 'resnest14d');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/layer1\.0\.conv2\.fc1 +conv2d +1x32x1x1 +2,080/);
    expect(r.stdout).toMatch(/resnest14d: 10,611,688 parameters, 2\.749 GMACs at 1x3x224x224/);
  });

  it('reads a fixture meta.json as a config', async () => {
    const r = await cli('summary', '../shared/fixtures/tiny_skresnet/meta.json', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).params).toBe(182_218);
  });
});

describe('cardinal models', () => {
  it('--json lists every zoo model with params and MACs', async () => {
    const r = await cli('models', '--json');
    const j = JSON.parse(r.stdout);
    expect(j.models.map((m: { name: string }) => m.name)).toEqual(ZOO.map((e) => e.name));
    expect(j.models.find((m: { name: string }) => m.name === 'resnet50').params).toBe(25_557_032);
  });
});
