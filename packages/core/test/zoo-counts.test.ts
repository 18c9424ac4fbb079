import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createModel, summarize, ZOO, zooNames } from '../src/index.js';

/**
 * PyTorch parameter counts, `sum(p.numel() for p in model.parameters())`.
 * Source: timm at commit aa4b5850 (the fixtures' commit), `timm.create_model(name)` under
 * Debian's torch 1.13, run on 2026-11-23. The ten marked (*) are also the issue's figures;
 * torchvision 0.14 gives the same counts for its resnet18..152 and resnext50/101_32x8d.
 */
const TIMM_PARAMS: Record<string, number> = {
  resnet18: 11_689_512,
  resnet34: 21_797_672,
  resnet50: 25_557_032, // (*)
  resnet101: 44_549_160,
  resnet152: 60_192_808,
  resnet50d: 25_576_264,
  resnext50_32x4d: 25_028_904, // (*)
  resnext101_32x4d: 44_177_704,
  resnext101_32x8d: 88_791_336, // (*)
  resnext101_64x4d: 83_455_272,
  seresnext26d_32x4d: 16_809_512,
  seresnext50_32x4d: 27_559_896, // (*)
  seresnext101_32x4d: 48_955_416,
  senet154: 115_088_984, // (*)
  skresnet18: 11_958_056, // (*)
  skresnet34: 22_282_376,
  skresnext50_32x4d: 27_479_784, // (*)
  resnest14d: 10_611_688, // (*)
  resnest26d: 17_069_448,
  resnest50d: 27_483_240, // (*)
  resnest101e: 48_275_016,
  resnest50d_4s2x40d: 30_417_592, // (*)
  resnest50d_1s4x24d: 25_677_000,
};

/** Convolution output channels of a bottleneck ResNeXt-50, each of which gains one bias. */
function resnext50ConvChannels(): number {
  let total = 64; // stem
  const layers = [3, 4, 6, 3];
  const planes = [64, 128, 256, 512];
  layers.forEach((n, i) => {
    const width = planes[i]! * 2; // floor(planes * 4 / 64) * 32
    total += n * (width + width + planes[i]! * 4) + planes[i]! * 4; // 3 convs per block + downsample
  });
  return total;
}

/** BasicBlock ResNeXt: conv3x3(in->2p) + bn, grouped conv3x3(2p->2p, g=32) + bn, projection when widths differ. */
function resnextBasicParams(layers: number[]): number {
  let params = 3 * 64 * 49 + 2 * 64; // stem conv + bn1
  let inplanes = 64;
  layers.forEach((n, stage) => {
    const w = 2 * 64 * 2 ** stage;
    for (let i = 0; i < n; i++) {
      params += inplanes * w * 9 + 2 * w; // conv1 + bn1
      params += (w / 32) * w * 9 + 2 * w; // grouped conv2 + bn2
      if (i === 0 && (stage > 0 || inplanes !== w)) params += inplanes * w + 2 * w; // downsample conv + bn
      inplanes = w;
    }
  });
  return params + inplanes * 1000 + 1000; // fc
}

describe('zoo parameter counts equal PyTorch', () => {
  it.each(Object.entries(TIMM_PARAMS))('%s has %i parameters (timm)', (name, expected) => {
    expect(summarize(createModel(name)).params).toBe(expected);
  });

  it('resnext50_bias adds one bias per conv output channel to resnext50_32x4d', () => {
    expect(resnext50ConvChannels()).toBe(34_112);
    expect(summarize(createModel('resnext50_bias')).params).toBe(25_028_904 + 34_112);
  });

  it('resnext18 and resnext34 (BasicBlock ResNeXt) match the closed-form count', () => {
    expect(summarize(createModel('resnext18')).params).toBe(resnextBasicParams([2, 2, 2, 2]));
    expect(summarize(createModel('resnext34')).params).toBe(resnextBasicParams([3, 4, 6, 3]));
  });

  it("fashion_resnext has PyTorch's count for its config: 209,034", () => {
    // sum(p.numel()) of the plain-torch replica of timm's ResNet for this config
    // (tools/bench/python/fashion_recipe_peer.py prints it; the shipped weights load into it strictly).
    expect(summarize(createModel('fashion_resnext')).params).toBe(209_034);
  });

  it('every zoo entry is covered by a count test', () => {
    // timm-zoo.test.ts covers every timm entrypoint with the generated table.
    const generated = JSON.parse(
      readFileSync(join(import.meta.dirname, 'reference', 'timm-params.json'), 'utf8'),
    ) as { params: Record<string, number> };
    const covered = new Set([
      ...Object.keys(TIMM_PARAMS),
      ...Object.keys(generated.params),
      'resnext50_bias',
      'resnext18',
      'resnext34',
      'fashion_resnext',
    ]);
    expect(zooNames().filter((n) => !covered.has(n))).toEqual([]);
    expect(ZOO.length).toBe(covered.size);
  });
});

describe('MACs', () => {
  it('resnext50_32x4d at 224 is within 0.5% of 4.23 GMACs', () => {
    const macs = summarize(createModel('resnext50_32x4d')).macs;
    expect(Math.abs(macs - 4.23e9) / 4.23e9).toBeLessThan(0.005);
  });

  it('resnet50 at 224 is 4.09 GMACs (the figure torchvision documents)', () => {
    const macs = summarize(createModel('resnet50')).macs;
    expect(macs / 1e9).toBeCloseTo(4.09, 2);
  });

  it('MACs scale with the input area at stride-exact sizes', () => {
    const m224 = summarize(createModel('resnet18', { inputShape: [1, 3, 224, 224] })).macs;
    const m448 = summarize(createModel('resnet18', { inputShape: [1, 3, 448, 448] })).macs;
    const fc = 512 * 1000;
    expect(m448 - fc).toBe(4 * (m224 - fc));
  });
});
