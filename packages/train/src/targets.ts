import { InputError, type Tensor } from '@cardinal/core';

/**
 * Cross-entropy targets for integer labels: one-hot with PyTorch's label smoothing,
 * (1 - e) * one_hot + e / classes, so that each row sums to 1 (the training graph's loss).
 */
export function smoothedTargets(labels: Int32Array, classes: number, smoothing = 0): Tensor {
  const data = new Float32Array(labels.length * classes).fill(smoothing / classes);
  labels.forEach((label, i) => {
    if (!(label >= 0 && label < classes))
      throw new InputError(`label ${label} of sample ${i} is outside 0..${classes - 1}`);
    data[i * classes + label]! += 1 - smoothing;
  });
  return { shape: [labels.length, classes], data };
}

/** How many rows' largest logit is their label. */
export function countCorrect(logits: Tensor, labels: Int32Array): number {
  const k = logits.shape[1]!;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (logits.data[i * k + j]! > logits.data[i * k + best]!) best = j;
    if (best === labels[i]) correct++;
  }
  return correct;
}
