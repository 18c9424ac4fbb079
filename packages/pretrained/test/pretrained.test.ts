import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createModel,
  IMAGENET_DEFAULTS,
  initTestWeights,
  parseResNetConfig,
  preprocessImages,
  readSafetensors,
  writeSafetensors,
} from '@cardinal/core';
import { describe, expect, it } from 'vitest';
import {
  decodeImage,
  hashPrefixOf,
  loadModelFolder,
  parseHfHub,
  readWeightsFile,
  saveModelFolder,
} from '../src/index.js';
import { PreprocessPool } from '../src/preprocess-pool.js';

const tmp = mkdtempSync(join(tmpdir(), 'cardinal-pretrained-'));
const PHOTO = '/usr/lib/python3/dist-packages/skimage/data/coffee.png';

describe('@cardinal/pretrained', () => {
  it('reads a large safetensors file (several reads in flight) to the same tensors', async () => {
    // 40 MB: past the size where reads go in parallel.
    const n = 10_000_000;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(i) * 1e3;
    const path = join(tmp, 'big.safetensors');
    writeFileSync(
      path,
      writeSafetensors([
        { name: 'a', shape: [n], dtype: 'F32', data },
        { name: 'b', shape: [3], dtype: 'F32', data: new Float32Array([1, 2, 3]) },
      ]),
    );
    const got = await readWeightsFile(path);
    const want = readSafetensors(readFileSync(path));
    const bytes = (t: Float32Array) => Buffer.from(t.buffer, t.byteOffset, t.byteLength);
    // Byte equality (a deep equal of 10 M elements would take minutes).
    expect(bytes(got.get('a')!.data).equals(bytes(want.get('a')!.data))).toBe(true);
    expect(got.get('a')!.data[123_456]).toBe(Math.fround(Math.sin(123_456) * 1e3));
    expect(Array.from(got.get('b')!.data)).toEqual([1, 2, 3]);
  });

  it('writes a timm folder and loads it back: the same config, transform, labels and weights', async () => {
    const graph = createModel('resnet18', { inputShape: [1, 3, 64, 64], numClasses: 3 });
    const weights = initTestWeights(graph, 5);
    const resnet = parseResNetConfig({ block: 'BasicBlock', layers: [2, 2, 2, 2], num_classes: 3 });
    const preprocess = { ...IMAGENET_DEFAULTS, inputSize: [64, 64] as [number, number], cropPct: 0.9 };
    const dir = join(tmp, 'folder');
    const written = saveModelFolder(dir, { graph, weights, resnet, preprocess, labelNames: ['x', 'y', 'z'] });
    expect(written.map((p) => p.slice(dir.length + 1))).toEqual(['config.json', 'model.safetensors']);
    const loaded = await loadModelFolder(dir);
    expect(loaded.config.architecture).toBe('resnet18');
    expect(loaded.config.labelNames).toEqual(['x', 'y', 'z']);
    expect(loaded.config.preprocess).toEqual(preprocess);
    for (const [k, t] of weights) expect(loaded.weights.get(k)!.data).toEqual(t.data);
    const mtime = statSync(written[1]!).mtimeMs;
    expect(() => saveModelFolder(dir, { graph, weights, resnet, preprocess })).toThrow(
      /config\.json: already exists \(use --force/,
    );
    expect(statSync(written[1]!).mtimeMs).toBe(mtime);
  });

  it("finds torch.hub's hash prefix as torch.hub does, and checks hub names", () => {
    expect(hashPrefixOf('resnext50_32x4d-7cdf4587.pth')).toBe('7cdf4587');
    expect(hashPrefixOf('resnext101_32x8d-8ba56ff5.pth')).toBe('8ba56ff5');
    expect(hashPrefixOf('model.pth')).toBeUndefined();
    expect(parseHfHub('hf-hub:timm/resnext50_32x4d.fb_in1k')).toEqual({
      repo: 'timm/resnext50_32x4d.fb_in1k',
      revision: 'main',
    });
    expect(parseHfHub('hf-hub:timm/x@v1.0').revision).toBe('v1.0');
    for (const bad of ['hf-hub:timm', 'hf-hub:../x/y', 'hf-hub:a/b/c', 'hf-hub:a/..', 'hf-hub:a/b@..'])
      expect(() => parseHfHub(bad)).toThrow(/expected hf-hub:<org>\/<name>/);
  });

  it('the worker pool gives the batch the main thread gives, and the same one-line errors', async () => {
    const pool = new PreprocessPool(2);
    try {
      const x = await pool.batch([PHOTO, PHOTO], IMAGENET_DEFAULTS);
      const want = preprocessImages([await decodeImage(PHOTO)], IMAGENET_DEFAULTS);
      expect(x.shape).toEqual([2, 3, 224, 224]);
      expect(x.data.subarray(0, want.data.length)).toEqual(want.data);
      expect(x.data.subarray(want.data.length)).toEqual(want.data);
      const missing = join(tmp, 'missing.png');
      await expect(pool.batch([missing], IMAGENET_DEFAULTS)).rejects.toThrow(`${missing}: image not found`);
      const text = join(tmp, 'text.png');
      writeFileSync(text, 'not an image');
      await expect(pool.batch([text], IMAGENET_DEFAULTS)).rejects.toThrow(/text\.png: cannot decode image/);
    } finally {
      pool.close();
    }
  });
});
