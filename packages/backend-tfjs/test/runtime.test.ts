import { createModel, InputError, initTestWeights, loadWeights } from '@cardinal/core';
import { buildFixtureGraph, loadFixture, readFixtureWeights } from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { compileTfjs, selectRuntime, TRAINING_ORDER, Trainer, tfjsBackend } from '../src/index.js';

describe('runtime selection with what is installed here (no tfjs-node, no tfjs-node-gpu)', () => {
  it('falls back to wasm without an error and says why it skipped the native runtimes', async () => {
    const r = await selectRuntime();
    expect(r.runtime).toBe('wasm');
    expect(r.backend).toBe('wasm');
    expect(r.skipped).toEqual([
      'node-gpu (@tensorflow/tfjs-node-gpu): not installed',
      'node (@tensorflow/tfjs-node): not installed',
    ]);
    const g = createModel('resnet18', { inputShape: [1, 3, 32, 32], numClasses: 4 });
    const exe = await compileTfjs(g, initTestWeights(g));
    expect(exe.describe()).toMatch(
      /^tfjs 4\.\d+\.\d+ \(wasm runtime, 'wasm' backend; skipped node-gpu .*not installed, node .*not installed\)$/,
    );
    exe.dispose();
  });

  it('a forced runtime is used, or refused in words when it cannot load', async () => {
    expect((await selectRuntime('cpu')).backend).toBe('cpu');
    await expect(selectRuntime('node')).rejects.toThrowError(
      /the TensorFlow\.js runtime 'node' is not available: node \(@tensorflow\/tfjs-node\): not installed/,
    );
  });

  it('training selects wasm here (its missing conv gradients supplied), not the pure-JS cpu backend', async () => {
    expect(TRAINING_ORDER).toEqual(['node-gpu', 'node', 'wasm', 'cpu']);
    const g = createModel('resnet18', { inputShape: [2, 3, 32, 32], numClasses: 4 });
    const t = await Trainer.create(g, initTestWeights(g));
    expect(t.runtime.runtime).toBe('wasm');
    expect(t.describe()).toMatch(/wasm runtime/);
    t.dispose();
  });
});

describe('tfjs executable', () => {
  it('1,000 runs leave tf.memory().numTensors where it was after the first run', async () => {
    const f = loadFixture('tiny_resnest');
    const { graph } = buildFixtureGraph(f);
    const { weights } = loadWeights(graph, readFixtureWeights(f));
    const exe = await tfjsBackend.compile(graph, weights, { runtime: 'wasm' });
    const tf = (await selectRuntime('wasm')).tf;
    await exe.run({ input: f.input });
    const after1 = tf.memory().numTensors;
    for (let i = 0; i < 1000; i++) await exe.run({ input: f.input });
    const after1000 = tf.memory().numTensors;
    console.log(`tfjs repetition: 1000 runs, numTensors ${after1} -> ${after1000}`);
    expect(after1000).toBe(after1);
    const before = tf.memory().numTensors;
    exe.dispose();
    expect(tf.memory().numTensors).toBeLessThan(before);
  }, 300_000);

  it('100 compile/dispose cycles leave no tensors behind', async () => {
    const f = loadFixture('timm_selective_kernel');
    const { graph } = buildFixtureGraph(f);
    const { weights } = loadWeights(graph, readFixtureWeights(f));
    const tf = (await selectRuntime('wasm')).tf;
    const start = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) {
      const exe = await tfjsBackend.compile(graph, weights, { runtime: 'wasm' });
      await exe.run({ input: f.input });
      exe.dispose();
    }
    console.log(`tfjs compile/dispose: 100 cycles, numTensors ${start} -> ${tf.memory().numTensors}`);
    expect(tf.memory().numTensors).toBe(start);
  }, 300_000);

  it('rejects a wrong input shape and a disposed model', async () => {
    const g = createModel('resnet18', { inputShape: [1, 3, 32, 32], numClasses: 4 });
    const exe = await tfjsBackend.compile(g, initTestWeights(g), { runtime: 'wasm' });
    await expect(
      exe.run({ input: { shape: [1, 3, 31, 32], data: new Float32Array(3 * 31 * 32) } }),
    ).rejects.toThrowError(InputError);
    exe.dispose();
    await expect(
      exe.run({ input: { shape: [1, 3, 32, 32], data: new Float32Array(3 * 32 * 32) } }),
    ).rejects.toThrowError(/was disposed/);
  });
});
