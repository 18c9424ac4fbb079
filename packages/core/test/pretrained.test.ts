import { execFileSync, spawnSync } from 'node:child_process';
import {
  buildFromJson,
  classify,
  createModel,
  IMAGENET_1K_LABELS,
  parsePretrainedConfig,
  parseResNetConfig,
  pretrainedConfigJson,
  resnetConfigToJson,
  withFeatureOutput,
  ZOO,
} from '@cardinal/core';
import { describe, expect, it } from 'vitest';

const PYTHON = '/usr/bin/python3';
const hasTorchvision = spawnSync(PYTHON, ['-c', 'import torchvision'], { stdio: 'ignore' }).status === 0;
if (!hasTorchvision) console.log('skipped the ImageNet label check: Debian python3-torchvision is missing');

const cfg = (pretrained: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  architecture: 'resnet18.a1_in1k',
  num_classes: 1000,
  pretrained_cfg: { input_size: [3, 224, 224], interpolation: 'bicubic', crop_pct: 0.95, ...pretrained },
  ...extra,
});

describe('timm model folder config.json', () => {
  it('reads architecture (tag split off), transform, classes and labels; defaults where silent', () => {
    const c = parsePretrainedConfig(
      cfg(
        { input_size: [3, 160, 192], mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 0.5] },
        { num_classes: 3, label_names: ['a', 'b', 'c'] },
      ),
    );
    expect(c.architecture).toBe('resnet18');
    expect(c.tag).toBe('a1_in1k');
    expect(c.numClasses).toBe(3);
    expect(c.preprocess).toEqual({
      inputSize: [160, 192],
      interpolation: 'bicubic',
      cropPct: 0.95,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.25, 0.5],
      channels: 3,
    });
    expect(c.labelNames).toEqual(['a', 'b', 'c']);
    const bare = parsePretrainedConfig({ architecture: 'resnext50_32x4d' });
    expect(bare.numClasses).toBe(1000);
    expect(bare.preprocess.cropPct).toBe(0.875);
    expect(bare.preprocess.interpolation).toBe('bilinear');
  });

  it('applies model_args over the zoo entry as timm.create_model(name, **model_args) does', () => {
    const c = parsePretrainedConfig({
      architecture: 'resnext50_32x4d',
      num_classes: 10,
      model_args: { layers: [1, 1, 1, 1], channels: [16, 32, 64, 64], base_width: 16 },
    });
    expect(c.resnet.cardinality).toBe(32);
    expect(c.resnet.baseWidth).toBe(16);
    expect(c.resnet.layers).toEqual([1, 1, 1, 1]);
    const built = buildFromJson({
      architecture: 'resnext50_32x4d',
      num_classes: 10,
      model_args: { layers: [1, 1, 1, 1], channels: [16, 32, 64, 64] },
    });
    expect(built.graph.tensors[built.graph.outputs[0]!]!.shape).toEqual([1, 10]);
  });

  it.each([
    [{ architecture: 'resnet9000' }, /unknown model 'resnet9000'/],
    [
      cfg({ interpolation: 'lanczos' }),
      /pretrained_cfg\.interpolation: interpolation 'lanczos' is not supported/,
    ],
    [cfg({ crop_mode: 'squash' }), /crop_mode 'center'/],
    [cfg({ crop_pct: 1.5 }), /pretrained_cfg\.crop_pct/],
    [cfg({ mean: [0.5, 0.5] }), /pretrained_cfg\.mean has 2 values for 3 channels/],
    [cfg({ input_size: [1, 224, 224] }), /input_size has 1 channels, the model takes 3/],
    [cfg({}, { num_classes: 2, label_names: ['a'] }), /label_names has 1 names for 2 classes/],
    [cfg({}, { model_args: { block: 'BasicBlock' } }), /model_args\.block is not allowed/],
    [cfg({}, { model_args: { layers: 'many' } }), /model_args: layers/],
    [{ num_classes: 3 }, /architecture/],
  ])('refuses %j with a message naming the key', (value, message) => {
    expect(() => parsePretrainedConfig(value, 'x/config.json')).toThrow(message);
  });

  it('writes, for every zoo model and a custom one, a config that reads back to the same architecture', () => {
    const custom = parseResNetConfig({
      block: 'Bottleneck',
      layers: [2, 1, 1, 1],
      channels: [16, 32, 64, 64],
      cardinality: 8,
      base_width: 16,
      num_classes: 10,
    });
    const configs = [...ZOO.map((z) => parseResNetConfig(resnetConfigToJson(z.config), z.name)), custom];
    const pre = {
      inputSize: [96, 80] as [number, number],
      interpolation: 'nearest' as const,
      cropPct: 0.8,
      mean: [0.1, 0.2, 0.3],
      std: [0.3, 0.2, 0.1],
      channels: 3 as const,
    };
    // One-channel models (fashion_resnext) take one mean and std.
    const gray = { ...pre, mean: [0.1], std: [0.3], channels: 1 as const };
    for (const c of configs) {
      const p = c.inChans === 1 ? gray : pre;
      const json = JSON.parse(JSON.stringify(pretrainedConfigJson(c, p)));
      const back = parsePretrainedConfig(json);
      expect(back.resnet).toEqual(c);
      expect(back.preprocess).toEqual(p);
    }
    const zooJson = pretrainedConfigJson(parseResNetConfig(resnetConfigToJson(ZOO[0]!.config)), pre);
    expect(zooJson.architecture).toBe(ZOO[0]!.name);
    expect(zooJson.model_args).toBeUndefined();
    // Cardinal's own small-image stem has no timm counterpart: no timm folder is written for it.
    const cifar = parseResNetConfig({
      block: 'BasicBlock',
      layers: [1, 1],
      stem_type: 'cifar',
      stem_width: 16,
    });
    expect(() => pretrainedConfigJson(cifar, pre)).toThrowError(/stem_type 'cifar' is Cardinal's own/);
  });
});

describe('classify', () => {
  it('softmax probabilities of known logits, best first, ties by index, NaN last, labels by index', () => {
    const ln3 = Math.log(3);
    const [row] = classify(
      { shape: [1, 4], data: new Float32Array([0, ln3, Number.NaN, 0]) },
      { top: 4, labels: ['a', 'b', 'c', 'd'] },
    );
    expect(row!.map((t) => t.label)).toEqual(['b', 'a', 'd', 'c']);
    // As torch.softmax: a NaN logit makes the whole row's probabilities NaN.
    expect(row!.every((t) => Number.isNaN(t.prob))).toBe(true);
    const [clean] = classify({ shape: [1, 3], data: new Float32Array([0, Math.fround(ln3), 0]) });
    expect(clean!.map((t) => t.index)).toEqual([1, 0, 2]);
    expect(clean![0]!.prob).toBeCloseTo(3 / 5, 6);
    expect(clean![1]!.prob).toBeCloseTo(1 / 5, 6);
    expect(clean![0]!.label).toBe('class 1');
    // Large logits do not overflow.
    const [big] = classify({ shape: [1, 2], data: new Float32Array([1000, 1000]) });
    expect(big!.map((t) => t.prob)).toEqual([0.5, 0.5]);
  });

  it('names 1000-class outputs with ImageNet labels', () => {
    const data = new Float32Array(1000);
    data[207] = 5;
    expect(classify({ shape: [1, 1000], data }, { top: 1 })[0]![0]!.label).toBe('golden retriever');
  });

  it.runIf(hasTorchvision)("ImageNet-1k labels are torchvision's", () => {
    const json = execFileSync(
      PYTHON,
      [
        '-c',
        'import json; from torchvision.models._meta import _IMAGENET_CATEGORIES as C; print(json.dumps(C))',
      ],
      { encoding: 'utf8' },
    );
    expect(IMAGENET_1K_LABELS).toEqual(JSON.parse(json));
  });

  it('adds the pooled features (the input of fc) as a second output', () => {
    const g = createModel('resnet18', { inputShape: [1, 3, 64, 64], numClasses: 7 });
    const { graph, features } = withFeatureOutput(g);
    expect(graph.outputs).toHaveLength(2);
    expect(graph.tensors[features]!.shape).toEqual([1, 512]);
  });
});
