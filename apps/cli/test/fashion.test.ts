import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { getZooEntry, parseResNetConfig, resolveResNetConfig } from '@cardinal/core';
import { DEBIAN_FASHION_MNIST, SHIPPED_WEIGHTS_DIR, shippedWeightsFile } from '@cardinal/pretrained';
import { describe, expect, it } from 'vitest';
import { cli, DEBIAN_PYTHON } from './helpers.js';

const installed = existsSync(join(DEBIAN_FASHION_MNIST, 'train-images-idx3-ubyte.gz'));
if (!installed)
  console.log(
    `Fashion-MNIST tests skipped: ${DEBIAN_FASHION_MNIST} is missing (apt install dataset-fashion-mnist)`,
  );
const torchOk = spawnSync(DEBIAN_PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;

const tmp = mkdtempSync(join(tmpdir(), 'cardinal-fashion-'));
const config = join(tmp, 'net.json');
writeFileSync(
  config,
  JSON.stringify({
    block: 'Bottleneck',
    layers: [1, 1, 1, 1],
    channels: [16, 32, 64, 64],
    cardinality: 8,
    base_width: 16,
    in_chans: 1,
    num_classes: 10,
  }),
);
const weights = join(tmp, 'net.safetensors');

/** PyTorch's top-1, top-5 and confusion matrix on the test split: the replica of timm's ResNet, the weights' own normalisation. */
function pytorchEval(
  configPath: string,
  weightsPath: string,
): { top1: number; top5: number; confusion: number[][] } {
  const script = `
import gzip, json, sys, numpy as np, torch
sys.path.insert(0, '${join(import.meta.dirname, '..', '..', '..', 'tools', 'conformance', 'python')}')
from timm_replica import read_safetensors, ResNet
cfg = json.load(open('${configPath}'))
sd = read_safetensors('${weightsPath}')
raw = open('${weightsPath}', 'rb').read()
meta = json.loads(raw[8:8 + int.from_bytes(raw[:8], 'little')])['__metadata__']
norm = json.loads(meta['cardinal.normalize'])
m = ResNet(sd, cfg); m.load_state_dict(sd); m.eval()
x = np.frombuffer(gzip.open('${DEBIAN_FASHION_MNIST}/t10k-images-idx3-ubyte.gz').read()[16:], dtype=np.uint8)
y = np.frombuffer(gzip.open('${DEBIAN_FASHION_MNIST}/t10k-labels-idx1-ubyte.gz').read()[8:], dtype=np.uint8).astype(np.int64)
x = torch.from_numpy(((x.astype(np.float32) / 255 - norm['mean'][0]) / norm['std'][0]).reshape(-1, 1, 28, 28))
with torch.no_grad():
    logits = torch.cat([m(x[i:i + 500]) for i in range(0, len(x), 500)])
pred = logits.argmax(1).numpy()
top5 = (logits.topk(5, 1).indices.numpy() == y[:, None]).any(1)
conf = np.zeros((10, 10), dtype=int)
for t, p in zip(y, pred): conf[t, p] += 1
print(json.dumps({'top1': float((pred == y).mean()), 'top5': float(top5.mean()), 'confusion': conf.tolist()}))
`;
  const py = spawnSync(DEBIAN_PYTHON, ['-c', script], { encoding: 'utf8', maxBuffer: 1 << 22 });
  if (py.status !== 0) throw new Error(py.stderr);
  return JSON.parse(py.stdout) as { top1: number; top5: number; confusion: number[][] };
}

describe.skipIf(!installed)('training and evaluating on Fashion-MNIST (real data)', () => {
  it('trains 2 epochs on 2,000 images: the loss falls and held-out accuracy is far above chance', async () => {
    const r = await cli(
      'train',
      config,
      '--data',
      'fashion-mnist',
      '--epochs',
      '2',
      '--train-size',
      '2000',
      '--val-size',
      '500',
      '--batch-size',
      '32',
      '--optimizer',
      'adam',
      '--lr',
      '0.003',
      '--out',
      weights,
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      epochs: { loss: number; valAccuracy: number; imagesPerSecond: number }[];
    };
    const [first, last] = [j.epochs[0]!, j.epochs.at(-1)!];
    console.log(
      `fashion-mnist: loss ${first.loss.toFixed(3)} -> ${last.loss.toFixed(3)}, held-out ${(100 * last.valAccuracy).toFixed(1)}%, ${last.imagesPerSecond.toFixed(0)} img/s`,
    );
    expect(last.loss).toBeLessThan(first.loss);
    expect(last.valAccuracy).toBeGreaterThan(0.45);
    // The training split's statistics travel with the weights.
    const header = readFileSync(weights);
    const meta = JSON.parse(
      header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString(),
    ).__metadata__;
    const norm = JSON.parse(meta['cardinal.normalize']) as { mean: number[]; std: number[] };
    expect(norm.mean[0]).toBeCloseTo(0.286, 3);
    expect(norm.std[0]).toBeCloseTo(0.353, 3);
  }, 300_000);

  it.skipIf(!torchOk)(
    "eval's top-1, top-5, per-class accuracy and confusion matrix on the 10,000 test images equal PyTorch's on the same weights",
    async () => {
      const r = await cli(
        'eval',
        config,
        '--weights',
        weights,
        '--data',
        'fashion-mnist',
        '--split',
        'test',
        '--svg',
        join(tmp, 'confusion.svg'),
        '--json',
      );
      expect(r.code, r.stderr).toBe(0);
      const ours = JSON.parse(r.stdout) as {
        top1: number;
        top5: number;
        n: number;
        per_class: number[];
        confusion: number[][];
      };
      expect(Object.keys(ours).sort()).toEqual(['confusion', 'n', 'per_class', 'top1', 'top5']);
      expect(ours.n).toBe(10000);
      // The picture: one cell per (true, predicted) pair, each class named.
      const svg = readFileSync(join(tmp, 'confusion.svg'), 'utf8');
      expect(svg.match(/<rect /g)).toHaveLength(100);
      expect(svg).toContain('Ankle boot');
      const theirs = pytorchEval(config, weights);
      // Float32 rounding may flip a near-tie or two among 10,000 images.
      const flipped =
        ours.confusion.flat().reduce((s, v, i) => s + Math.abs(v - theirs.confusion.flat()[i]!), 0) / 2;
      expect(flipped).toBeLessThanOrEqual(3);
      expect(Math.abs(ours.top1 - theirs.top1)).toBeLessThanOrEqual(3e-4);
      expect(Math.abs(ours.top5 - theirs.top5)).toBeLessThanOrEqual(3e-4);
      for (const [k, row] of ours.confusion.entries())
        expect(ours.per_class[k]).toBeCloseTo(row[k]! / row.reduce((a, b) => a + b, 0), 12);
    },
    300_000,
  );
});

describe.skipIf(!installed)('fashion_resnext: the zoo entry with the weights Cardinal trained', () => {
  it.skipIf(!torchOk)(
    'eval by name scores the 10,000 test images as models lists it and as PyTorch scores the same file',
    async () => {
      const entry = getZooEntry('fashion_resnext');
      const shipped = shippedWeightsFile('fashion_resnext')!;
      // The config the documented training command builds is the zoo entry's architecture.
      const configFile = join(SHIPPED_WEIGHTS_DIR, 'fashion_resnext.json');
      const fromFile = parseResNetConfig(JSON.parse(readFileSync(configFile, 'utf8')), configFile);
      expect(fromFile).toEqual(resolveResNetConfig(entry.config));

      const r = await cli('eval', 'fashion_resnext', '--data', 'fashion-mnist', '--split', 'test', '--json');
      expect(r.code, r.stderr).toBe(0);
      const ours = JSON.parse(r.stdout) as { top1: number; n: number; confusion: number[][] };
      expect(ours.n).toBe(10000);
      // Issue 12 asks for 93.0% on these 10,000 images, with weights Cardinal trained (the log
      // and command beside them): these score 93.15% (BENCHMARKS.md).
      expect(ours.top1).toBeGreaterThanOrEqual(0.93);
      // The number `cardinal models` shows is the one eval measures.
      expect(ours.top1).toBeCloseTo(entry.weights!.top1, 10);
      const listed = JSON.parse((await cli('models', '--json')).stdout) as {
        models: { name: string; input: number[]; weights?: { top1: number } }[];
      };
      const row = listed.models.find((m) => m.name === 'fashion_resnext')!;
      expect(row.input).toEqual([1, 28, 28]);
      expect(row.weights?.top1).toBe(entry.weights!.top1);

      const theirs = pytorchEval(configFile, shipped);
      expect(Math.abs(ours.top1 - theirs.top1)).toBeLessThanOrEqual(3e-4);
    },
    300_000,
  );
});

describe.skipIf(!installed || !torchOk)('fashion_resnext: classify by name', () => {
  it("reads real test images as PNG files with the weights' own normalisation and class names: PyTorch's logits", async () => {
    const shipped = shippedWeightsFile('fashion_resnext')!;
    const configFile = join(SHIPPED_WEIGHTS_DIR, 'fashion_resnext.json');
    // PIL writes the first four test images as PNG files; PyTorch scores the same pixels.
    const py = spawnSync(
      DEBIAN_PYTHON,
      [
        '-c',
        `
import gzip, json, sys, numpy as np, torch
from PIL import Image
sys.path.insert(0, '${join(import.meta.dirname, '..', '..', '..', 'tools', 'conformance', 'python')}')
from timm_replica import read_safetensors, ResNet
sd = read_safetensors('${shipped}')
raw = open('${shipped}', 'rb').read()
meta = json.loads(raw[8:8 + int.from_bytes(raw[:8], 'little')])['__metadata__']
norm = json.loads(meta['cardinal.normalize'])
m = ResNet(sd, json.load(open('${configFile}'))); m.load_state_dict(sd); m.eval()
x = np.frombuffer(gzip.open('${DEBIAN_FASHION_MNIST}/t10k-images-idx3-ubyte.gz').read()[16:16 + 4 * 784], dtype=np.uint8).reshape(4, 28, 28)
for i in range(4): Image.fromarray(x[i]).save('${tmp}/test%d.png' % i)
t = torch.from_numpy(((x.astype(np.float32) / 255 - norm['mean'][0]) / norm['std'][0]).reshape(4, 1, 28, 28))
with torch.no_grad(): print(json.dumps(m(t).tolist()))
`,
      ],
      { encoding: 'utf8' },
    );
    expect(py.status, py.stderr).toBe(0);
    const theirs = JSON.parse(py.stdout) as number[][];
    const files = [0, 1, 2, 3].map((i) => join(tmp, `test${i}.png`));
    const r = await cli('classify', '--model', 'fashion_resnext', ...files, '--top', '10', '--json');
    expect(r.code, r.stderr).toBe(0);
    const ours = JSON.parse(r.stdout) as {
      results: { top: { index: number; label: string; logit: number }[] }[];
    };
    expect(ours.results).toHaveLength(4);
    for (const [i, result] of ours.results.entries()) {
      expect(result.top).toHaveLength(10);
      for (const c of result.top)
        expect(c.logit, `image ${i}, class ${c.index}`).toBeCloseTo(theirs[i]![c.index]!, 4);
    }
    // The class names are the ones training stored (Fashion-MNIST's), not "class 9".
    const labels = new Set(ours.results.flatMap((res) => res.top.map((c) => c.label)));
    expect(labels.size).toBe(10);
    for (const name of ['T-shirt/top', 'Trouser', 'Ankle boot']) expect(labels).toContain(name);
  }, 120_000);
});

describe('bad IDX data: one line, exit 1, nothing written', () => {
  const idx = (magic: number, dims: number[], data: Uint8Array) => {
    const head = Buffer.alloc(4 + 4 * dims.length);
    head.writeUInt32BE(magic, 0);
    for (const [i, d] of dims.entries()) head.writeUInt32BE(d, 4 + 4 * i);
    return Buffer.concat([head, data]);
  };
  const folder = (name: string, files: Record<string, Buffer>) => {
    const dir = join(tmp, name);
    spawnSync('mkdir', ['-p', dir]);
    for (const [f, b] of Object.entries(files)) writeFileSync(join(dir, f), b);
    return dir;
  };
  const good = {
    'train-images-idx3-ubyte': idx(0x803, [20, 28, 28], new Uint8Array(20 * 784)),
    'train-labels-idx1-ubyte': idx(0x801, [20], new Uint8Array(20)),
    't10k-images-idx3-ubyte': idx(0x803, [10, 28, 28], new Uint8Array(10 * 784)),
    't10k-labels-idx1-ubyte': idx(0x801, [10], new Uint8Array(10)),
  };
  const cases: [string, Record<string, Buffer>, RegExp][] = [
    [
      'a wrong magic',
      { ...good, 'train-images-idx3-ubyte': idx(0x12345678, [20, 28, 28], new Uint8Array(20 * 784)) },
      /train-images-idx3-ubyte: not an IDX file \(magic 0x12345678/,
    ],
    [
      'image and label counts that differ',
      { ...good, 'train-labels-idx1-ubyte': idx(0x801, [19], new Uint8Array(19)) },
      /train-labels-idx1-ubyte: 19 labels for the 20 images of .*train-images-idx3-ubyte/,
    ],
    [
      'a truncated gzip',
      {
        ...Object.fromEntries(Object.entries(good).filter(([k]) => k !== 'train-images-idx3-ubyte')),
        'train-images-idx3-ubyte.gz': gzipSync(good['train-images-idx3-ubyte']).subarray(0, 40),
      },
      /train-images-idx3-ubyte\.gz: not a readable gzip file \(truncated\)/,
    ],
  ];
  it.each(cases)('%s', async (name, files, message) => {
    const dir = folder(name.replace(/\W+/g, '-'), files);
    const out = join(tmp, `${name.replace(/\W+/g, '-')}.safetensors`);
    const r = await cli('train', config, '--data', dir, '--val-size', '5', '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });
});

describe('eval: weights whose stored normalisation is bad, one line, exit 1', () => {
  const file = (name: string, header: object) => {
    const h = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    const path = join(tmp, name);
    writeFileSync(path, Buffer.concat([len, h]));
    return path;
  };
  it.each([
    [
      'a zero std',
      file('zero-std.safetensors', {
        __metadata__: { 'cardinal.normalize': '{"mean":[0.2],"std":[0]}' },
      }),
      /zero-std\.safetensors: metadata cardinal\.normalize is not \{"mean": \[\.\.\], "std": \[\.\.\]\} of one length/,
    ],
    [
      'three channels for IDX images',
      file('rgb.safetensors', {
        __metadata__: { 'cardinal.normalize': '{"mean":[0.4,0.4,0.4],"std":[0.2,0.2,0.2]}' },
      }),
      /rgb\.safetensors: the weights were trained on 3-channel images, not IDX's one/,
    ],
  ])('%s', async (_, weightsFile, message) => {
    const r = await cli('eval', 'fashion_resnext', '--weights', weightsFile, '--data', 'fashion-mnist');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });
});
