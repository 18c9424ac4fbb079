import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import {
  type Batch,
  flipHorizontal,
  IMAGENET_DEFAULTS,
  type Image8,
  mulberry32,
  type PreprocessConfig,
  preprocessImages,
  randomCropFlipBatch,
  randomResizedCrop,
  type TrainData,
} from '@cardinal/core';
import { decodeImage } from '@cardinal/pretrained';
import { CliError } from '../errors.js';
import { batchOf, type Dataset } from './dataset.js';

// The contract training reads (core's): re-exported for the CLI's data modules.
export type { Batch, TrainData } from '@cardinal/core';

/**
 * The transform photos go through for a model: a timm folder's pretrained_cfg, else ImageNet's;
 * at `size` when the user asked for one or the model states none.
 */
export function photoTransform(
  pretrained: PreprocessConfig | undefined,
  size: number,
  sizeGiven: boolean,
): PreprocessConfig {
  return {
    ...(pretrained ?? IMAGENET_DEFAULTS),
    ...(sizeGiven || !pretrained ? { inputSize: [size, size] as [number, number] } : {}),
  };
}

/** Tensors in memory (synthetic shapes, IDX), optionally with random crop (padding `pad`) and flip. */
export function tensorData(ds: Dataset, augment?: { pad: number; fill: number }): TrainData {
  return {
    count: ds.count,
    classes: ds.classes,
    shape: ds.shape,
    train(indices, seed) {
      const b = batchOf(ds, indices);
      if (augment) randomCropFlipBatch(b, seed, augment.pad, augment.fill);
      return b;
    },
    eval: (indices) => batchOf(ds, indices),
  };
}

const EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

/**
 * A folder of photos, one subfolder per class (sorted names are the classes), decoded once as
 * PIL decodes them. Training batches: torchvision's RandomResizedCrop and RandomHorizontalFlip
 * (when `augment`), then ToTensor and Normalize with the model's mean and std; evaluation
 * batches: the model's own transform (resize, center crop, normalize).
 */
export async function photoFolder(dir: string, cfg: PreprocessConfig, augment: boolean): Promise<TrainData> {
  let classes: string[];
  try {
    classes = readdirSync(dir)
      .filter((d) => statSync(join(dir, d)).isDirectory())
      .sort();
  } catch {
    throw new CliError(`${dir}: not a readable folder`);
  }
  if (classes.length < 2)
    throw new CliError(`${dir}: needs one subfolder per class (found ${classes.length})`);
  const files: { path: string; label: number }[] = [];
  for (const [label, c] of classes.entries()) {
    const inClass = readdirSync(join(dir, c))
      .filter((f) => EXTENSIONS.has(extname(f).toLowerCase()))
      .sort();
    if (inClass.length === 0)
      throw new CliError(`${join(dir, c)}: no images in this class folder (${[...EXTENSIONS].join(', ')})`);
    for (const f of inClass) files.push({ path: join(dir, c, f), label });
  }
  const images: Image8[] = [];
  for (const f of files) images.push(await decodeImage(f.path));
  const labels = Int32Array.from(files, (f) => f.label);
  const [h, w] = cfg.inputSize;
  const exact = { ...cfg, cropPct: 1 };
  const pick = (indices: Int32Array) => Int32Array.from(indices, (i) => labels[i]!);
  const evalBatch = (indices: Int32Array): Batch => {
    const t = preprocessImages(
      Array.from(indices, (i) => images[i]!),
      cfg,
    );
    return { shape: [...t.shape], data: t.data as Float32Array, labels: pick(indices) };
  };
  return {
    count: files.length,
    classes,
    shape: [cfg.channels, h, w],
    train(indices, seed) {
      if (!augment) return evalBatch(indices);
      const next = mulberry32(seed);
      const crops = Array.from(indices, (i) => {
        const c = randomResizedCrop(images[i]!, [h, w], next, cfg.interpolation);
        return next() < 0.5 ? flipHorizontal(c) : c;
      });
      const t = preprocessImages(crops, exact);
      return { shape: [...t.shape], data: t.data as Float32Array, labels: pick(indices) };
    },
    eval: evalBatch,
  };
}
