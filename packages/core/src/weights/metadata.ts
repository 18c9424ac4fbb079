// What `cardinal train` stores in a safetensors file's metadata beside the weights: the
// normalisation the model was trained with and its class names. Pure parsing (browser and Node).
// Weights with a stored normalisation were trained on whole images at the model's input size
// (IDX data: no crop), so a reader classifying other images resizes them whole (crop_pct 1).
import { SafetensorsError } from '../errors.js';

/** Per-channel normalisation of pixels in [0, 1]: (x - mean) / std. */
export interface ChannelNormalisation {
  mean: number[];
  std: number[];
}

/**
 * The normalisation `cardinal train` stored with weights (`cardinal.normalize`), checked; undefined
 * when the metadata has none.
 */
export function storedNormalisation(
  meta: Record<string, string>,
  source: string,
): ChannelNormalisation | undefined {
  const raw = meta['cardinal.normalize'];
  if (raw === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    v = undefined;
  }
  const ok = (a: unknown, positive: boolean): a is number[] =>
    Array.isArray(a) &&
    a.length > 0 &&
    a.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));
  const n = v as { mean?: unknown; std?: unknown } | undefined;
  if (!n || !ok(n.mean, false) || !ok(n.std, true) || n.mean.length !== n.std.length)
    throw new SafetensorsError(
      `${source}: metadata cardinal.normalize is not {"mean": [..], "std": [..]} of one length`,
    );
  return { mean: n.mean, std: n.std };
}

/** The class names stored with weights (`cardinal.classes`), or undefined. */
export function storedClasses(meta: Record<string, string>): string[] | undefined {
  const raw = meta['cardinal.classes'];
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) && v.every((c) => typeof c === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The metadata entries that store a normalisation and class names with weights (what the readers above read). */
export function trainedMetadata(n: ChannelNormalisation, classes: readonly string[]): Record<string, string> {
  return {
    'cardinal.normalize': JSON.stringify({ mean: n.mean, std: n.std }),
    'cardinal.classes': JSON.stringify(classes),
  };
}
