// Fine-tuning in the tab: fashion_resnext's backbone frozen, a fresh classifier head trained on
// Fashion-MNIST test images with @cardinal/train's GraphTrainer over a backend's training
// compile (the page passes WebGPU's: the IR's training graph as WGSL kernels; the test runs the
// same function on backend-onnx in Node to check the page's numbers).

import { type Backend, initWeights, type Tensor, type WeightMap } from '@cardinal/core';
import { GraphTrainer } from '@cardinal/train';
import type { FashionModel, FashionTestSet } from './fashion.js';

export interface FineTuneOptions {
  steps: number;
  batch: number;
  /** The first `images` test images, cycled through in order (a fixed run for a fixed seed). */
  images: number;
  learningRate: number;
  seed: number;
  onStep(step: FineTuneStep): void;
}

/** The panel's run (batch, images, rate, seed): what the end-to-end test repeats in Node. */
export const FINE_TUNE_RUN = { batch: 32, images: 256, learningRate: 0.05, seed: 0 } as const;

export interface FineTuneStep {
  step: number;
  loss: number;
  /** The batch's accuracy before the step's update. */
  accuracy: number;
}

/** The modules a head-only fine-tune freezes: every top-level module but `fc`. */
export function backboneModules(weights: WeightMap): string[] {
  return [...new Set([...weights.keys()].map((k) => k.split('.')[0]!))].filter((m) => m !== 'fc');
}

/** Runs the fine-tune; returns the trainer's description (what ran it) and the steps. */
export async function fineTuneHead(
  backend: Backend,
  m: Pick<FashionModel, 'graph' | 'weights' | 'mean' | 'std'>,
  set: Pick<FashionTestSet, 'images' | 'labels'>,
  o: FineTuneOptions,
): Promise<{ runs: string; steps: FineTuneStep[] }> {
  // A fresh head (the training initialisation, seeded) on the shipped backbone.
  const fresh = initWeights(m.graph, o.seed);
  const weights: WeightMap = new Map(
    [...m.weights].map(([k, t]) => [
      k,
      k.startsWith('fc.') ? fresh.get(k)! : { shape: t.shape, data: t.data.slice() },
    ]),
  );
  const trainer = await GraphTrainer.create(backend, m.graph, weights, {
    optimizer: 'sgd',
    learningRate: o.learningRate,
    momentum: 0.9,
    freeze: backboneModules(weights),
  });
  const steps: FineTuneStep[] = [];
  try {
    for (let s = 0; s < o.steps; s++) {
      const data = new Float32Array(o.batch * 784);
      const labels = new Int32Array(o.batch);
      for (let i = 0; i < o.batch; i++) {
        const index = (s * o.batch + i) % o.images;
        const plane = set.images.subarray(index * 784, (index + 1) * 784);
        for (let p = 0; p < 784; p++) data[i * 784 + p] = (plane[p]! / 255 - m.mean) / m.std;
        labels[i] = set.labels[index]!;
      }
      const x: Tensor = { shape: [o.batch, 1, 28, 28], data };
      const { loss, correct } = await trainer.trainBatch(x, labels);
      const step = { step: s + 1, loss, accuracy: correct / o.batch };
      steps.push(step);
      o.onStep(step);
    }
    return { runs: trainer.describe(), steps };
  } finally {
    await trainer.dispose();
  }
}
