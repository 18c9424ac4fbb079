import { createModel, InputError, initTestWeights, loadWeights } from '@cardinal/core';
import { buildFixtureGraph, loadFixture, readFixtureWeights, settledRssMiB } from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { compileOnnx, onnxBackend } from '../src/index.js';

describe('onnx runtime', () => {
  it('is available here and reports the execution provider that ran (CPU without CUDA)', async () => {
    expect(await onnxBackend.isAvailable()).toEqual({ available: true });
    const g = createModel('resnet18', { inputShape: [1, 3, 32, 32], numClasses: 10 });
    const exe = await compileOnnx(g, initTestWeights(g));
    // No CUDA here: the cuda provider is skipped with its reason, and CPU runs.
    expect(exe.provider).toBe('cpu');
    expect(exe.describe()).toMatch(/CPU execution provider; skipped cuda: /);
    exe.dispose();
  });

  it('rejects a wrong input shape, naming expected and actual shapes', async () => {
    const g = createModel('resnet18', { inputShape: [1, 3, 32, 32], numClasses: 10 });
    const exe = await onnxBackend.compile(g, initTestWeights(g), { executionProviders: ['cpu'] });
    const bad = { shape: [1, 3, 32, 30], data: new Float32Array(3 * 32 * 30) };
    await expect(exe.run({ input: bad })).rejects.toThrowError(
      new InputError("input 'input': expected shape [1, 3, 32, 32] (any batch size), got [1, 3, 32, 30]"),
    );
    const batch3 = { shape: [3, 3, 32, 32], data: new Float32Array(3 * 3 * 32 * 32) };
    expect((await exe.run({ input: batch3 }))[g.outputs[0]!]!.shape).toEqual([3, 10]);
    exe.dispose();
  });

  it('refuses to run a disposed model', async () => {
    const g = createModel('resnet18', { inputShape: [1, 3, 32, 32], numClasses: 10 });
    const exe = await onnxBackend.compile(g, initTestWeights(g), { executionProviders: ['cpu'] });
    exe.dispose();
    const x = { shape: [1, 3, 32, 32], data: new Float32Array(3 * 32 * 32) };
    await expect(exe.run({ input: x })).rejects.toThrowError(/was disposed and cannot run again/);
  });

  it('1,000 consecutive runs of one compiled model do not grow RSS', async () => {
    const f = loadFixture('tiny_resnext');
    const { graph } = buildFixtureGraph(f);
    const { weights } = loadWeights(graph, readFixtureWeights(f));
    const exe = await onnxBackend.compile(graph, weights, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
    });
    const run = () => exe.run({ input: f.input });
    for (let i = 0; i < 100; i++) await run();
    global.gc?.();
    const before = settledRssMiB();
    for (let i = 0; i < 1000; i++) await run();
    global.gc?.();
    const growth = settledRssMiB() - before;
    console.log(`onnx repetition: 1000 runs, RSS growth ${growth.toFixed(1)} MiB`);
    exe.dispose();
    expect(growth).toBeLessThan(16);
  });

  it('100 compile/dispose cycles do not grow RSS', async () => {
    const f = loadFixture('tiny_skresnet');
    const { graph } = buildFixtureGraph(f);
    const { weights } = loadWeights(graph, readFixtureWeights(f));
    const cycle = async () => {
      const exe = await onnxBackend.compile(graph, weights, {
        executionProviders: ['cpu'],
        intraOpNumThreads: 1,
      });
      await exe.run({ input: f.input });
      exe.dispose();
    };
    for (let i = 0; i < 20; i++) await cycle();
    global.gc?.();
    const before = settledRssMiB();
    for (let i = 0; i < 100; i++) await cycle();
    await new Promise((r) => setTimeout(r, 100));
    global.gc?.();
    const growth = settledRssMiB() - before;
    console.log(`onnx compile/dispose: 100 cycles, RSS growth ${growth.toFixed(1)} MiB`);
    expect(growth).toBeLessThan(32);
  });
});

describe('a session in a worker thread', () => {
  it('gives the in-thread outputs bit for bit, keeps the event loop free while it runs, and refuses after dispose', async () => {
    const g = createModel('resnet18', { inputShape: [4, 3, 96, 96], numClasses: 10 });
    const w = initTestWeights(g, 3);
    const x = { shape: [4, 3, 96, 96], data: new Float32Array(4 * 3 * 96 * 96).map((_, i) => Math.sin(i)) };
    const here = await compileOnnx(g, w, { executionProviders: ['cpu'] });
    const there = await compileOnnx(g, w, { executionProviders: ['cpu'], worker: true });
    expect(there.describe()).toMatch(/CPU execution provider, in a worker thread/);
    const a = (await here.run({ input: x }))[g.outputs[0]!]!;
    // Ticks of the event loop while the worker runs: the caller's thread is not blocked.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const b = (await there.run({ input: x }))[g.outputs[0]!]!;
    clearInterval(timer);
    expect(b.shape).toEqual(a.shape);
    expect(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)).toEqual(
      Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength),
    );
    expect(ticks).toBeGreaterThan(0);
    // Inputs in shared memory (a server's pooled request bodies): onnxruntime-node refuses them
    // as such, so both paths copy them; same bytes out, and runs queued together stay apart.
    const shared = new Float32Array(new SharedArrayBuffer(x.data.byteLength));
    shared.set(x.data);
    const other = new Float32Array(new SharedArrayBuffer(x.data.byteLength)).fill(0.5);
    const [c, d, e] = await Promise.all([
      here.run({ input: { shape: x.shape, data: shared } }),
      there.run({ input: { shape: x.shape, data: shared } }),
      there.run({ input: { shape: x.shape, data: other } }),
    ]);
    for (const out of [c, d]) expect(Array.from(out[g.outputs[0]!]!.data)).toEqual(Array.from(a.data));
    expect(Array.from(e[g.outputs[0]!]!.data)).not.toEqual(Array.from(a.data));
    here.dispose();
    there.dispose();
    await expect(there.run({ input: x })).rejects.toThrow(/disposed/);
  });
});
