import { spawnSync } from 'node:child_process';
import {
  GraphBuilder,
  initWeights,
  mulberry32,
  prepareForInference,
  randomNormal,
  resnet,
} from '@cardinal/core';
import { describe, expect, it } from 'vitest';
import { Trainer } from '../src/index.js';
import { Program, selectRuntime } from '../src/internals.js';
import { dropBlockMask } from '../src/lower/index.js';

const python = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!python)
  console.log("DropBlock mask check against torch skipped: Debian's python3-torch is not installed");

/** A generator that replays fixed uniforms, so both sides see the same draws. */
const replay = (u: Float32Array) => {
  let i = 0;
  return () => u[i++]!;
};

describe.skipIf(!python)("DropBlock's mask is timm's drop_block_2d for the same seeds", () => {
  it.each([
    [2, 9, 7, 0.3, 5, 0.25],
    [1, 6, 8, 0.5, 3, 1],
    [2, 5, 5, 0.2, 4, 1], // even block: timm's max-pool offset
    [1, 3, 4, 0.4, 5, 0.25], // block larger than the map
  ])('N=%i, %ix%i, rate %f, block %i, gamma scale %f', (n, h, w, rate, block, gammaScale) => {
    const u = Float32Array.from({ length: n * h * w }, mulberry32(n * 100 + h * 10 + w));
    const ours = dropBlockMask(n, h, w, rate, block, gammaScale, replay(u));
    // timm's drop_block_2d with the Bernoulli draws made from the same uniforms.
    const code = `
import json, sys, torch, torch.nn.functional as F
n, h, w, rate, bs, gs = ${n}, ${h}, ${w}, ${rate}, ${block}, ${gammaScale}
u = torch.tensor(json.loads(sys.stdin.read()), dtype=torch.float32).reshape(n, 1, h, w)
kh, kw = min(bs, h), min(bs, w)
gamma = float(gs * rate * h * w) / float(kh * kw) / float((h - kh + 1) * (w - kw + 1))
m = (u < gamma).to(torch.float32)
m = F.max_pool2d(m, kernel_size=(kh, kw), stride=1, padding=(kh // 2, kw // 2))
if kh % 2 == 0 or kw % 2 == 0:
    m = m[..., (kh + 1) % 2:, (kw + 1) % 2:]
keep = 1. - m
keep = keep * (keep.numel() / keep.to(torch.float32).sum().add(1e-7))
print(json.dumps(keep.flatten().tolist()))`;
    const r = spawnSync('/usr/bin/python3', ['-c', code], {
      input: JSON.stringify(Array.from(u)),
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const want = JSON.parse(r.stdout) as number[];
    expect(ours.length).toBe(want.length);
    // Each case drops something (the draws are chosen so), or the comparison would be vacuous.
    expect(want.some((v) => v === 0)).toBe(true);
    for (let i = 0; i < want.length; i++) expect(ours[i]).toBeCloseTo(want[i]!, 5);
  });
});

describe('DropPath', () => {
  it('keeps a sample with probability 1 - rate, scaled by 1 / keep, and is the identity in evaluation', async () => {
    const rt = await selectRuntime('cpu');
    const b = new GraphBuilder('drop');
    b.output(b.dropPath(b.input('input', [4, 2, 3, 3]), 0.25, 'drop_path'));
    const graph = b.build();
    const program = new Program(rt.tf, graph);
    const x = randomNormal([4, 2, 3, 3], 1);
    const input = rt.tf.tensor(x.data, x.shape);
    // Draws 0.1, 0.9, 0.5, 0.76: kept (< 0.75), dropped, kept, dropped.
    const draws = Float32Array.from([0.1, 0.9, 0.5, 0.76]);
    const y = program.forward(
      { input },
      program.prepare(() => input, true),
      true,
      undefined,
      replay(draws),
    );
    const got = await y[graph.outputs[0]!]!.data();
    const per = 18;
    for (let s = 0; s < 4; s++)
      for (let i = 0; i < per; i++)
        expect(got[s * per + i]).toBeCloseTo(draws[s]! < 0.75 ? x.data[s * per + i]! / 0.75 : 0, 6);
    const evalOut = program.forward(
      { input },
      program.prepare(() => input, false),
      false,
    );
    expect(Array.from(await evalOut[graph.outputs[0]!]!.data())).toEqual(Array.from(x.data));
  });
});

describe('a model with drop_path_rate and drop_block_rate', () => {
  const config = (rates: number) => ({
    block: 'BasicBlock',
    layers: [1, 1, 1, 1],
    channels: [8, 8, 16, 16],
    numClasses: 3,
    dropPathRate: rates,
    dropBlockRate: rates,
    zeroInitLast: false,
  });
  const shape = [4, 3, 32, 32];

  it("has timm's drop nodes (linear rates by block, DropBlock in stages 3 and 4), none after prepareForInference", () => {
    const g = resnet(config(0.3), { inputShape: shape });
    const drops = g.nodes.filter((n) => n.op === 'dropPath' || n.op === 'dropBlock');
    expect(
      drops.map((n) => `${n.path}:${n.op === 'dropPath' ? n.attrs.rate.toFixed(2) : n.attrs.blockSize}`),
    ).toEqual([
      // Block 0 of 4 has rate 0: no node.
      'layer2.0.drop_path:0.10',
      'layer3.0.drop_block:5',
      'layer3.0.drop_path:0.20',
      'layer4.0.drop_block:3',
      'layer4.0.drop_path:0.30',
    ]);
    const { graph } = prepareForInference(g, initWeights(g, 0));
    expect(graph.nodes.some((n) => n.op === 'dropPath' || n.op === 'dropBlock')).toBe(false);
  });

  it('trains with its masks (seeded, repeatable) and evaluates without them', async () => {
    const g = resnet(config(0.5), { inputShape: shape });
    const plain = resnet(config(0), { inputShape: shape });
    const w = initWeights(plain, 0);
    const x = randomNormal(shape, 2);
    const labels = Int32Array.from([0, 1, 2, 0]);
    const make = (graph: typeof g, dropSeed = 0) =>
      Trainer.create(graph, new Map(w), { runtime: 'cpu', optimizer: 'sgd', learningRate: 0.1, dropSeed });
    const [a, b, c, off] = await Promise.all([make(g), make(g), make(g, 1), make(plain)]);
    expect(await a.predict(x)).toEqual(await off.predict(x));
    const stepA = await a.trainBatch(x, labels);
    const stepB = await b.trainBatch(x, labels);
    const stepC = await c.trainBatch(x, labels);
    const stepOff = await off.trainBatch(x, labels);
    expect(stepA.loss).toBe(stepB.loss);
    expect(stepA.loss).not.toBe(stepOff.loss);
    expect(stepC.loss).not.toBe(stepA.loss);
    for (const t of [a, b, c, off]) t.dispose();
  });
});
