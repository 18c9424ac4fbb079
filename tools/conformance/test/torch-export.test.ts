import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importOnnx } from '@cardinal/backend-onnx';
import {
  buildFromJson,
  initTestWeights,
  maxAbsDiff,
  randomNormal,
  readNpy,
  saveWeights,
  writeNpy,
} from '@cardinal/core';
import { fixturesDir, listFixtures, loadFixture } from '@cardinal/testkit';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { CONFORMANCE_BACKENDS, loadConformanceBackend } from '../src/backends.js';

/**
 * torch.onnx.export of the shared fixtures' timm (and torchvision) modules and models, as
 * Debian's torch writes them: SE's mean, SK's split/stack/sum and softmax over paths,
 * ResNeSt's radix softmax with its shape arithmetic. Debian has no timm: the exported modules
 * are replicas (python/timm_replica.py) that first reproduce each fixture's output.bin.
 */
const torchOk = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!torchOk) console.log("torch export tests skipped: Debian's python3-torch is not installed");

const OPSETS = [11, 13, 17] as const;
const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'python', 'timm_replica.py');

describe.skipIf(!torchOk)('torch.onnx.export of every shared fixture (opsets 11, 13, 17)', () => {
  const names = listFixtures('shared');
  const dir = mkdtempSync(join(tmpdir(), 'cardinal-torch-export-'));
  let exported: Map<string, { file: string; replicaDiff: number }> | undefined;
  const exportAll = () => {
    if (exported) return exported;
    const jobs = names.flatMap((n) => OPSETS.map((o) => `${n}:${o}`));
    const r = spawnSync('/usr/bin/python3', [script, fixturesDir(), dir, ...jobs], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    if (r.status !== 0) throw new Error(r.stderr);
    exported = new Map();
    for (const line of r.stdout.trim().split('\n')) {
      const [file, diff] = line.split(' ');
      exported.set(file!.slice(dir.length + 1, -'.onnx'.length), { file: file!, replicaDiff: Number(diff) });
    }
    return exported;
  };

  it.each(names)(
    '%s: the replica equals output.bin; each export imports and runs as onnxruntime runs the file, on every backend',
    async (name) => {
      const f = loadFixture(name);
      for (const opset of OPSETS) {
        const e = exportAll().get(`${name}-${opset}`)!;
        expect(e.replicaDiff, `replica of ${name}`).toBeLessThanOrEqual(f.atol / 4);
        const bytes = readFileSync(e.file);
        const m = importOnnx(bytes, { source: `${name}-${opset}.onnx` });
        const session = await ort.InferenceSession.create(bytes);
        const theirs = (await session.run({ input: new ort.Tensor('float32', f.input.data, f.input.shape) }))
          .output!.data as Float32Array;
        const expected = { shape: f.expected.shape, data: theirs };
        expect(maxAbsDiff(expected, f.expected), `onnxruntime on ${name}-${opset}`).toBeLessThanOrEqual(
          f.atol,
        );
        // Every backend at opset 17; the older opsets (the same graph, other shape arithmetic) on two.
        const backends = opset === 17 ? CONFORMANCE_BACKENDS : (['reference', 'onnx'] as const);
        for (const b of backends) {
          const loaded = await loadConformanceBackend(b);
          if ('reason' in loaded) continue;
          const exe = await loaded.backend.compile(m.graph, m.weights);
          const y = (await exe.run({ input: f.input }))[m.graph.outputs[0]!]!;
          exe.dispose();
          expect(y.shape).toEqual(f.expected.shape);
          expect(maxAbsDiff(y, expected), `${b} vs onnxruntime, ${name}-${opset}`).toBeLessThanOrEqual(
            f.atol,
          );
          expect(maxAbsDiff(y, f.expected), `${b} vs output.bin, ${name}-${opset}`).toBeLessThanOrEqual(
            f.atol,
          );
        }
      }
    },
    240_000,
  );

  it("torchvision's resnext50_32x4d (opsets 11, 13, 17) runs as onnxruntime runs the file (opset 17 on every backend)", async () => {
    const out = mkdtempSync(join(tmpdir(), 'cardinal-resnext50-'));
    const r = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        `
import torch, torchvision
torch.manual_seed(0)
m = torchvision.models.resnext50_32x4d()
for mod in m.modules():
    if isinstance(mod, torch.nn.BatchNorm2d):
        mod.running_mean.uniform_(-0.5, 0.5); mod.running_var.uniform_(0.5, 1.5)
        mod.weight.data.uniform_(0.5, 1.5); mod.bias.data.uniform_(-0.5, 0.5)
m.eval()
for opset in (11, 13, 17):
    torch.onnx.export(m, torch.randn(1, 3, 64, 64), f'${out}/resnext50-{opset}.onnx', opset_version=opset,
                      input_names=['input'], output_names=['output'], dynamic_axes={'input': {0: 'N'}, 'output': {0: 'N'}})
`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const x = {
      shape: [1, 3, 64, 64],
      data: Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.sin(i * 0.37)),
    };
    for (const opset of OPSETS) {
      const bytes = readFileSync(join(out, `resnext50-${opset}.onnx`));
      const m = importOnnx(bytes, { source: `resnext50-${opset}.onnx` });
      expect(Object.keys(m.graph.params)).toContain('layer4.2.conv2.weight');
      const session = await ort.InferenceSession.create(bytes);
      const theirs = (await session.run({ input: new ort.Tensor('float32', x.data, x.shape) })).output!;
      const expected = { shape: [...theirs.dims], data: theirs.data as Float32Array };
      const atol = 1e-4 * Math.max(1, ...Array.from(expected.data, Math.abs));
      // Every backend at opset 17; the older opsets' graphs (other shape arithmetic) on onnx.
      for (const b of opset === 17 ? CONFORMANCE_BACKENDS : (['onnx'] as const)) {
        const loaded = await loadConformanceBackend(b);
        if ('reason' in loaded) continue;
        const exe = await loaded.backend.compile(m.graph, m.weights);
        const y = (await exe.run({ input: x }))[m.graph.outputs[0]!]!;
        exe.dispose();
        expect(maxAbsDiff(y, expected), `${b}, opset ${opset}`).toBeLessThanOrEqual(atol);
      }
    }
  }, 600_000);

  const cliBin = join(
    dirname(fileURLToPath(import.meta.url)),
    '..',
    '..',
    '..',
    'apps',
    'cli',
    'dist',
    'bin.js',
  );
  it.skipIf(!existsSync(cliBin))(
    '`cardinal run model.onnx --backend B` on a torch export equals the fixture on every backend',
    async () => {
      const f = loadFixture('tiny_skresnext');
      const e = exportAll().get('tiny_skresnext-17')!;
      const x = join(dir, 'x.npy');
      writeFileSync(x, writeNpy(f.input));
      for (const b of CONFORMANCE_BACKENDS) {
        if ('reason' in (await loadConformanceBackend(b))) continue;
        const y = join(dir, `y-${b}.npy`);
        const r = spawnSync(
          process.execPath,
          [cliBin, 'run', e.file, '--backend', b, '--input', x, '--out', y],
          {
            encoding: 'utf8',
          },
        );
        expect(r.status, r.stderr).toBe(0);
        expect(maxAbsDiff(readNpy(readFileSync(y), y), f.expected), b).toBeLessThanOrEqual(f.atol);
      }
    },
    300_000,
  );

  it("Cardinal's cifar stem (3x3 stride 1, no pooling; 1-channel 28x28, three stages) equals the same network in PyTorch", async () => {
    const config = {
      block: 'Bottleneck',
      layers: [1, 2, 1],
      channels: [24, 48, 96],
      cardinality: 8,
      base_width: 16,
      stem_type: 'cifar',
      stem_width: 24,
      in_chans: 1,
      num_classes: 10,
    };
    const { graph } = buildFromJson(config, { inputShape: [2, 1, 28, 28] });
    expect(graph.nodes.some((n) => n.op === 'maxPool')).toBe(false);
    expect(graph.params['conv1.weight']!.shape).toEqual([24, 1, 3, 3]);
    const weights = initTestWeights(graph, 3);
    const x = randomNormal([2, 1, 28, 28], 4);
    writeFileSync(join(dir, 'cifar.safetensors'), saveWeights(graph, weights));
    writeFileSync(join(dir, 'cifar.json'), JSON.stringify(config));
    writeFileSync(join(dir, 'cifar-x.npy'), writeNpy(x));
    const py = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        `
import json, sys, numpy as np, torch
sys.path.insert(0, '${dirname(script)}')
from timm_replica import read_safetensors, ResNet
sd = read_safetensors('${dir}/cifar.safetensors')
m = ResNet(sd, json.load(open('${dir}/cifar.json'))); m.load_state_dict(sd); m.eval()
with torch.no_grad():
    y = m(torch.from_numpy(np.load('${dir}/cifar-x.npy')))
np.save('${dir}/cifar-y.npy', y.numpy())
`,
      ],
      { encoding: 'utf8' },
    );
    expect(py.status, py.stderr).toBe(0);
    const want = readNpy(readFileSync(join(dir, 'cifar-y.npy')), 'cifar-y.npy');
    const exe = await (await loadConformanceBackend('reference').then((l) =>
      'backend' in l ? l.backend : undefined,
    ))!.compile(graph, weights);
    const y = (await exe.run({ [graph.inputs[0]!.name]: x }))[graph.outputs[0]!]!;
    expect(maxAbsDiff(y, want)).toBeLessThanOrEqual(1e-4 * Math.max(1, ...Array.from(want.data, Math.abs)));
  });
});
