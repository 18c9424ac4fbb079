import { permutation } from '@cardinal/core';

/** An in-memory image classification dataset, NCHW float32. */
export interface Dataset {
  images: Float32Array;
  labels: Int32Array;
  count: number;
  /** [C, H, W] of one image. */
  shape: [number, number, number];
  classes: string[];
}

/** A deterministic shuffle (seeded), for epochs and splits. */
export const shuffled = permutation;

/** Copies the given samples into one batch tensor. */
export function batchOf(
  ds: Dataset,
  indices: ArrayLike<number>,
): { shape: number[]; data: Float32Array; labels: Int32Array } {
  const per = ds.shape[0] * ds.shape[1] * ds.shape[2];
  const data = new Float32Array(indices.length * per);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i]!;
    data.set(ds.images.subarray(k * per, (k + 1) * per), i * per);
    labels[i] = ds.labels[k]!;
  }
  return { shape: [indices.length, ...ds.shape], data, labels };
}
