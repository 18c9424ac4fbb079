// The user's network: core's documented custom-architecture example (a ResNeXt stage, a
// selective-kernel stage, a split-attention stage, a two-layer head), copied in by the release
// check from packages/core/examples/custom-architecture.ts as a user would copy it.
import type { Tensor } from '@cardinal/core';
import { triAttentionNet as example } from './custom-architecture.js';

export const INPUT_SHAPE = [2, 3, 64, 64];

export const triAttentionNet = (inputShape: number[] = INPUT_SHAPE, numClasses = 10) =>
  example(inputShape, numClasses);

/** The same input everywhere (Node and the browser): a smooth pattern, no random source. */
export function sampleInput(shape: number[] = INPUT_SHAPE): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 1.5) };
}
