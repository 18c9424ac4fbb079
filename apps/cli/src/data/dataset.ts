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
export function shuffled(count: number, seed: number): Int32Array {
  const idx = Int32Array.from({ length: count }, (_, i) => i);
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx;
}

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
