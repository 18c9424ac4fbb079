import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ChannelNormalisation } from '@cardinal/core';
import {
  DEBIAN_FASHION_MNIST,
  FASHION_MNIST_CLASSES,
  type IdxSplit,
  loadIdxDataset,
} from '@cardinal/pretrained';
import type { Dataset } from './dataset.js';

export interface IdxData {
  train: Dataset;
  test: Dataset;
  /** From the training split's pixels: the same in every run on the same data. */
  /** One channel: (pixel / 255 - mean[0]) / std[0]. */
  normalisation: ChannelNormalisation;
  dir: string;
}

/** `fashion-mnist` (Debian's package), or a folder holding MNIST-style IDX files. */
export function isIdxSource(spec: string): boolean {
  if (spec === 'fashion-mnist') return true;
  try {
    if (!statSync(spec).isDirectory()) return false;
  } catch {
    return false;
  }
  return ['train-images-idx3-ubyte', 'train-images-idx3-ubyte.gz'].some((f) => existsSync(join(spec, f)));
}

/** Mean and standard deviation of a split's pixels in [0, 1] (float64 sums). */
function statistics(split: IdxSplit): ChannelNormalisation {
  const d = split.images.data;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]! / 255;
    sum += v;
    sq += v * v;
  }
  const mean = sum / d.length;
  return { mean: [mean], std: [Math.sqrt(Math.max(sq / d.length - mean * mean, 1e-12))] };
}

function toDataset(split: IdxSplit, classes: string[], n: ChannelNormalisation): Dataset {
  const [count, h, w] = split.images.shape as [number, number, number];
  const images = new Float32Array(count * h * w);
  const src = split.images.data;
  const scale = 1 / (255 * n.std[0]!);
  const shift = n.mean[0]! / n.std[0]!;
  for (let i = 0; i < images.length; i++) images[i] = src[i]! * scale - shift;
  return { images, labels: Int32Array.from(split.labels), count, shape: [1, h, w], classes };
}

/** The train and test splits, normalised with the training split's statistics (or those given: a model's own). */
export function idxData(spec: string, given?: ChannelNormalisation): IdxData {
  const dir = spec === 'fashion-mnist' ? DEBIAN_FASHION_MNIST : spec;
  const raw = loadIdxDataset(dir);
  const fashion = spec === 'fashion-mnist' || dir === DEBIAN_FASHION_MNIST;
  const maxLabel = Math.max(...raw.train.labels, ...raw.test.labels);
  const classes = fashion
    ? [...FASHION_MNIST_CLASSES]
    : Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  const normalisation = given ?? statistics(raw.train);
  return {
    train: toDataset(raw.train, classes, normalisation),
    test: toDataset(raw.test, classes, normalisation),
    normalisation,
    dir,
  };
}
