import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnxBackend } from '@cardinal/backend-onnx';
import { compileTfjs } from '@cardinal/backend-tfjs';
import { webgpuBackend } from '@cardinal/backend-webgpu';
import { buildFromJson, loadSafetensorsWeights } from '@cardinal/core';
import { describe, expect, it } from 'vitest';
import { batchOf } from '../src/data/dataset.js';
import { syntheticShapes } from '../src/data/synthetic.js';
import { cli } from './helpers.js';

const webgpu = await webgpuBackend.isAvailable();
if (!webgpu.available) console.log(`skipped cardinal train --backend webgpu: ${webgpu.reason}`);

const tmp = mkdtempSync(join(tmpdir(), 'cardinal-train-'));
const config = join(tmp, 'tiny.json');
writeFileSync(
  config,
  JSON.stringify({
    block: 'Bottleneck',
    layers: [1, 1],
    channels: [8, 16],
    cardinality: 4,
    base_width: 16,
    stem_type: 'deep',
    stem_width: 8,
    num_classes: 10,
    zero_init_last: false,
  }),
);

describe('cardinal train --data synthetic', () => {
  it('lowers the loss, beats chance on held-out data, and writes weights that ONNX Runtime runs to the same logits', async () => {
    const out = join(tmp, 'trained.safetensors');
    const r = await cli(
      'train',
      config,
      '--data',
      'synthetic',
      '--epochs',
      '2',
      '--train-size',
      '640',
      '--val-size',
      '200',
      '--out',
      out,
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    // The default backend: the fastest that trains here (ONNX Runtime), said in the output.
    expect(j.backend).toBe('onnx');
    expect(j.runtime).toMatch(/^onnx training \(onnxruntime-node/);
    const [first, last] = [j.epochs[0], j.epochs[j.epochs.length - 1]];
    console.log(
      `train: loss ${first.loss.toFixed(3)} -> ${last.loss.toFixed(3)}, held-out accuracy ${(100 * last.valAccuracy).toFixed(1)}% (chance 10%)`,
    );
    expect(last.loss).toBeLessThan(first.loss);
    expect(last.valAccuracy).toBeGreaterThan(0.25);

    // The written safetensors (PyTorch names) load unchanged into the ONNX backend.
    const batch = batchOf(
      syntheticShapes(16, 32, 99),
      Int32Array.from({ length: 16 }, (_, i) => i),
    );
    const { graph } = buildFromJson(JSON.parse(readFileSync(config, 'utf8')), {
      inputShape: [16, 3, 32, 32],
    });
    const { weights } = loadSafetensorsWeights(graph, readFileSync(out));
    const x = { input: { shape: batch.shape, data: batch.data } };
    const tf = await compileTfjs(graph, weights, { runtime: 'cpu' });
    const onnx = await onnxBackend.compile(graph, weights, { executionProviders: ['cpu'] });
    const a = (await tf.run(x))[graph.outputs[0]!]!;
    const b = (await onnx.run(x))[graph.outputs[0]!]!;
    tf.dispose();
    onnx.dispose();
    const scale = Math.max(1, ...a.data.map(Math.abs));
    const diff = a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - b.data[i]!)), 0);
    expect(diff).toBeLessThanOrEqual(1e-4 * scale);
  }, 300_000);

  it.skipIf(!webgpu.available)(
    '--backend webgpu trains the same model on WGSL kernels: the loss falls, the JSON names it',
    async () => {
      const out = join(tmp, 'trained-webgpu.safetensors');
      const r = await cli(
        'train',
        config,
        '--data',
        'synthetic',
        '--backend',
        'webgpu',
        '--epochs',
        '2',
        '--train-size',
        '256',
        '--val-size',
        '64',
        '--batch-size',
        '32',
        '--out',
        out,
        '--json',
      );
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.backend).toBe('webgpu');
      expect(j.runtime).toMatch(/^webgpu training \(/);
      expect(j.epochs[1].loss).toBeLessThan(j.epochs[0].loss);
      expect(j.epochs[1].imagesPerSecond).toBeGreaterThan(0);
      expect(existsSync(out)).toBe(true);
    },
    300_000,
  );

  it('trains from an image folder (one subfolder per class, decoded with sharp)', async () => {
    const sharp = (await import('sharp')).default;
    const dir = join(tmp, 'images');
    const colours: Record<string, [number, number, number]> = { red: [220, 30, 30], blue: [30, 40, 220] };
    for (const [name, rgb] of Object.entries(colours)) {
      mkdirSync(join(dir, name), { recursive: true });
      for (let i = 0; i < 8; i++) {
        const px = Buffer.alloc(20 * 24 * 3);
        for (let k = 0; k < 20 * 24; k++)
          px.set(
            rgb.map((v) => Math.max(0, Math.min(255, v + ((k * 7 + i * 13) % 40) - 20))),
            k * 3,
          );
        await sharp(px, { raw: { width: 24, height: 20, channels: 3 } })
          .png()
          .toFile(join(dir, name, `${i}.png`));
      }
    }
    const folderConfig = join(tmp, 'two.json');
    writeFileSync(
      folderConfig,
      JSON.stringify({
        block: 'BasicBlock',
        layers: [1],
        channels: [8],
        stem_type: 'deep',
        stem_width: 4,
        num_classes: 2,
      }),
    );
    const r = await cli(
      'train',
      folderConfig,
      '--data',
      dir,
      '--input-size',
      '16',
      '--epochs',
      '3',
      '--batch-size',
      '4',
      '--out',
      join(tmp, 'two.safetensors'),
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.classes).toBe(2);
    expect(j.epochs).toHaveLength(3);
    expect(j.epochs[2].loss).toBeLessThan(j.epochs[0].loss);
  }, 120_000);

  it('logs progress within an epoch when stderr is not a terminal', async () => {
    // 320 images in batches of 16: 20 steps, a line at each tenth (every 2 steps) and one per epoch.
    const r = await cli(
      'train',
      config,
      '--data',
      'synthetic',
      '--epochs',
      '1',
      '--train-size',
      '320',
      '--val-size',
      '32',
      '--batch-size',
      '16',
      '--out',
      join(tmp, 'logged.safetensors'),
    );
    expect(r.code, r.stderr).toBe(0);
    const steps = r.stderr.split('\n').filter((l) => /^epoch 1\/1 step \d+\/20: loss \d/.test(l));
    expect(steps.map((l) => Number(/step (\d+)/.exec(l)![1]))).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(r.stderr).toMatch(/^epoch 1\/1: loss [\d.]+, train accuracy/m);
  }, 120_000);

  it('stops at a loss that is not finite, naming the step, and writes no weights', async () => {
    const out = join(tmp, 'diverged.safetensors');
    const r = await cli(
      'train',
      config,
      '--data',
      'synthetic',
      '--train-size',
      '128',
      '--val-size',
      '32',
      '--batch-size',
      '32',
      '--backend',
      'onnx',
      '--optimizer',
      'sgd',
      '--lr',
      '1e12',
      '--out',
      out,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error: step \d+: the loss is (NaN|Infinity|-Infinity); no epoch was finished; .*diverged\.safetensors not written/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a model whose outputs do not match the classes, and unknown options', async () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ block: 'BasicBlock', layers: [1], channels: [8], num_classes: 3 }));
    const r = await cli('train', bad, '--data', 'synthetic', '--out', join(tmp, 'x.safetensors'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the model has 3 outputs but the data has 10 classes/);
    expect(
      (await cli('train', config, '--data', 'synthetic', '--out', join(tmp, 'y'), '--optimizer', 'lbfgs'))
        .stderr,
    ).toMatch(/--optimizer must be adam, adamw or sgd/);
    expect((await cli('train', config, '--out', join(tmp, 'y'))).stderr).toMatch(
      /--data <dir \| synthetic \| fashion-mnist> is required/,
    );
    const workers = await cli(
      'train',
      config,
      '--data',
      'synthetic',
      '--out',
      join(tmp, 'y'),
      '--workers',
      '0',
    );
    expect(workers.code).toBe(2);
    expect(workers.stderr).toMatch(/--workers must be a positive (whole )?(number|integer)/);
  });
});
