import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadWeights, readRawF32, readSafetensors } from '@cardinal/core';
import {
  buildFixtureGraph,
  fixturePath,
  listFixtures,
  loadFixture,
  readFixtureWeights,
} from '@cardinal/testkit';
import { describe, expect, it } from 'vitest';
import { Trainer } from '../src/index.js';

interface TrainMeta {
  input_shape: number[];
  output_shape: number[];
  loss: { value: number; atol: number };
  tolerance_hint: {
    output_l2_rtol: number;
    grad_l2_rtol: Record<string, number>;
    grad_l2_tiny: number;
    grad_atol: Record<string, number>;
    running_atol: Record<string, number>;
  };
}

const l2 = (a: Float32Array, b?: Float32Array) =>
  Math.sqrt(a.reduce((s, v, i) => s + (v - (b ? b[i]! : 0)) ** 2, 0));
const maxAbs = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

const withTrain = [...listFixtures('shared'), ...listFixtures('timm')].filter((n) =>
  existsSync(join(fixturePath(n), 'train', 'meta.json')),
);

describe('training lowering reproduces one PyTorch training step', () => {
  it('covers every fixture that has train/ data', () => expect(withTrain.length).toBeGreaterThanOrEqual(9));

  // The runtime training selects here (wasm, with Cardinal's own convolution gradients), the
  // pure-JS cpu fallback, and wasm with every grouped conv as depthwise + sum (the strategy of
  // large maps, whose depthwise gradients wasm lacks and Cardinal supplies).
  const runs = withTrain.flatMap((name) =>
    (
      [
        ['wasm', undefined],
        ['cpu', undefined],
        ['wasm', 'expand'],
      ] as const
    ).map(([runtime, convStrategy]) => [name, runtime, convStrategy] as const),
  );
  it.each(runs)('%s on %s (conv strategy %s)', async (name, runtime, convStrategy) => {
    const f = loadFixture(name);
    const dir = join(f.dir, 'train');
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as TrainMeta;
    const tol = meta.tolerance_hint;
    const { graph } = buildFixtureGraph(f, meta.input_shape);
    const { weights } = loadWeights(graph, readFixtureWeights(f));
    const x = readRawF32(readFileSync(join(dir, 'input.bin')), meta.input_shape);
    const R = readRawF32(readFileSync(join(dir, 'loss_weights.bin')), meta.output_shape);
    const refOut = readRawF32(readFileSync(join(dir, 'output.bin')), meta.output_shape);
    const refGrads = readSafetensors(readFileSync(join(dir, 'grads.safetensors')));
    const refRunning = readSafetensors(readFileSync(join(dir, 'running_after.safetensors')));

    const trainer = await Trainer.create(graph, weights, {
      runtime,
      ...(convStrategy ? { convStrategy } : {}),
    });
    try {
      const tf = trainer.runtime.tf;
      const r = tf.tensor(R.data, [...R.shape]);
      const n = meta.input_shape[0]!;
      const step = await trainer.step(x, (out) => tf.div(tf.sum(tf.mul(out, r)), n) as never, false);
      r.dispose();

      expect(Math.abs(step.loss - meta.loss.value), 'loss').toBeLessThanOrEqual(meta.loss.atol);
      expect(l2(step.output.data, refOut.data), 'output relative L2').toBeLessThanOrEqual(
        tol.output_l2_rtol * l2(refOut.data),
      );
      const failures: string[] = [];
      for (const [key, ref] of refGrads) {
        const g = step.grads.get(key);
        if (!g) {
          failures.push(`${key}: no gradient`);
          continue;
        }
        const rel = l2(g.data, ref.data) / Math.max(l2(ref.data), tol.grad_l2_tiny);
        // The fixture's rule: the relative L2 bound, or (where a ReLU or max-pool kink flipped) every element within grad_atol.
        if (rel > tol.grad_l2_rtol[key]! && maxAbs(g.data, ref.data) > tol.grad_atol[key]!) {
          failures.push(
            `${key}: relative L2 ${rel.toExponential(2)} > ${tol.grad_l2_rtol[key]!.toExponential(2)}`,
          );
        }
      }
      expect(failures).toEqual([]);
      expect(step.grads.size).toBe(refGrads.size);
      const after = await trainer.weights();
      for (const [key, ref] of refRunning) {
        const v = after.get(key)!;
        if (key.endsWith('num_batches_tracked')) expect([...v.data], key).toEqual([...ref.data]);
        else expect(maxAbs(v.data, ref.data), key).toBeLessThanOrEqual(tol.running_atol[key]!);
      }
    } finally {
      trainer.dispose();
    }
  });
});
